import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from billing.models import SessionCost
from charging.models import ChargingSession
from charging.tests.factories import ChargingSessionFactory, IdTokenFactory
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

JAN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Export files go to a throw-away directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def session_at(connector, day: int, *, id_tag: str = "TAG-1", energy_wh: int = 12_345, **kwargs) -> ChargingSession:
    """A completed session that started on January `day` 2026 at 10:00 UTC and lasted 90 minutes."""
    started = JAN + dt.timedelta(days=day - 1, hours=10)
    session = ChargingSessionFactory(connector=connector, id_tag=id_tag, started_at=started, meter_start_wh=0, **kwargs)
    ChargingSession.objects.filter(pk=session.pk).update(
        state="completed", stopped_at=started + dt.timedelta(minutes=90), energy_wh=energy_wh, meter_stop_wh=energy_wh
    )
    session.refresh_from_db()
    return session


@pytest.fixture
def world():
    """Organization A with two sites, a charger each and four sessions (one priced); B with one."""
    org_a = OrganizationFactory(name="Alpha Charging", slug="alpha")
    org_b = OrganizationFactory(name="Beta Charging", slug="beta")
    harbour, depot = SiteFactory(organization=org_a, name="Harbour"), SiteFactory(organization=org_a, name="Depot")
    c1 = ConnectorFactory(charger=ChargerFactory(site=harbour, charge_point_id="A-HARBOUR-1"))
    c2 = ConnectorFactory(charger=ChargerFactory(site=depot, charge_point_id="A-DEPOT-1"))
    token = IdTokenFactory(organization=org_a, id_tag="CARD-1")
    s1 = session_at(c1, 3, id_tag="CARD-1", id_token=token)
    s2 = session_at(c1, 10, id_tag="card-1")  # the same card, sent in lower case, not linked then
    s3 = session_at(c2, 20, id_tag="OTHER")
    s4 = session_at(c2, 31, id_tag="OTHER")
    SessionCost.objects.create(
        session=s1, currency="EUR", net=Decimal("4.20"), vat=Decimal("0.80"), total=Decimal("5.00")
    )
    b_site = SiteFactory(organization=org_b, name="Beta site")
    b_connector = ConnectorFactory(charger=ChargerFactory(site=b_site, charge_point_id="B-CP-1"))
    b_session = session_at(b_connector, 5, id_tag="B-TAG")
    operator = UserFactory(is_staff=True)
    MembershipFactory(user=operator, organization=org_a, role="operator")
    outsider = UserFactory(is_staff=True)
    MembershipFactory(user=outsider, organization=org_b, role="operator")
    return SimpleNamespace(
        org_a=org_a, org_b=org_b, harbour=harbour, depot=depot, charger1=c1.charger, charger2=c2.charger,
        token=token, sessions=[s1, s2, s3, s4], b_site=b_site, b_charger=b_connector.charger, b_session=b_session,
        operator=operator, outsider=outsider,
    )  # fmt: skip
