import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from sites.models import Charger, Connector, Site
from sites.services import ensure_connectors, register_charger
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = pytest.mark.django_db


def test_charge_point_id_is_unique_across_all_tenants():
    ChargerFactory(charge_point_id="CP-1")
    with pytest.raises(IntegrityError):
        ChargerFactory(charge_point_id="CP-1", site=SiteFactory())


@pytest.mark.parametrize("charge_point_id", ["CP:1", "a/b", " CP1", "CP1 ", "x" * 49, "", "CP\n1"])
def test_charge_point_id_rejects_what_cannot_be_a_url_identity(charge_point_id):
    charger = Charger(site=SiteFactory(), charge_point_id=charge_point_id)
    with pytest.raises(ValidationError) as excinfo:
        charger.full_clean()
    assert "charge_point_id" in excinfo.value.message_dict


@pytest.mark.parametrize("charge_point_id", ["CP001", "RDAM 123", "x" * 48, "EVB-P1234.5_A|B@C"])
def test_charge_point_id_accepts_spec_identities(charge_point_id):
    Charger(site=SiteFactory(), charge_point_id=charge_point_id).full_clean()


def test_site_coordinates_are_range_checked_in_the_database():
    site = SiteFactory()
    with pytest.raises(IntegrityError):
        Site.objects.filter(pk=site.pk).update(latitude=91)


def test_site_timezone_must_be_iana():
    site = SiteFactory.build(timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as excinfo:
        site.full_clean()
    assert "timezone" in excinfo.value.message_dict


def test_site_names_repeat_only_across_organizations():
    site = SiteFactory(name="Depot")
    SiteFactory(name="Depot")  # another organization
    with pytest.raises(IntegrityError):
        SiteFactory(name="Depot", organization=site.organization)


def test_security_profile_is_constrained_in_the_database():
    charger = ChargerFactory()
    with pytest.raises(IntegrityError):
        Charger.objects.filter(pk=charger.pk).update(security_profile=4)


def test_connector_ids_are_unique_per_charger_and_start_at_one():
    connector = ConnectorFactory(connector_id=1)
    with pytest.raises(IntegrityError):
        ConnectorFactory(charger=connector.charger, connector_id=1)


def test_connector_zero_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        ConnectorFactory(connector_id=0)


def test_ocpp201_connectors_are_unique_per_evse():
    charger = ChargerFactory(ocpp_version="2.0.1")
    Connector.objects.create(charger=charger, evse_id=1, connector_id=1)
    Connector.objects.create(charger=charger, evse_id=2, connector_id=1)
    with pytest.raises(IntegrityError):
        Connector.objects.create(charger=charger, evse_id=2, connector_id=1)


def test_register_charger_creates_numbered_connectors_and_ensure_is_idempotent():
    charger = register_charger(site=SiteFactory(), charge_point_id="CP-NEW", connector_count=2)
    assert [c.connector_id for c in charger.connectors.all()] == [1, 2]
    ensure_connectors(charger=charger, count=3)
    ensure_connectors(charger=charger, count=3)
    assert charger.connectors.count() == 3
