"""PDF receipts: rendered from an escaped template, fetching nothing, text checked with pdftotext."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from billing.models import SessionCost
from billing.receipts import receipt_html, receipt_pdf
from charging.models import ChargingSession
from charging.tests.factories import ChargingSessionFactory
from common.pdf import ForbiddenFetch, static_file_for
from common.tests.pdf import needs_pdf, pdf_text
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db


def _priced(**session_fields) -> SessionCost:
    session = ChargingSessionFactory(
        meter_start_wh=0, started_at=dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC), **session_fields
    )
    ChargingSession.objects.filter(pk=session.pk).update(
        state="completed", stopped_at=dt.datetime(2026, 1, 15, 22, 0, tzinfo=dt.UTC), energy_wh=20000
    )
    session.refresh_from_db()
    breakdown = {
        "currency": "EUR",
        "lines": [{"kind": "energy", "description": "Energy at 0.40/kWh", "quantity": "20.000",
                   "unit_price": "0.40", "amount": "8.00"}],
        "net": "8.00", "vat": "1.52", "total": "9.52", "adjustments": [],
    }  # fmt: skip
    return SessionCost.objects.create(
        session=session, currency="EUR", net=Decimal("8.00"), vat=Decimal("1.52"), total=Decimal("9.52"),
        breakdown=breakdown,
    )  # fmt: skip


@pytest.fixture
def cost():
    return _priced(transaction_id=4711, id_tag='<img src="http://127.0.0.1:1/track">')


@pytest.fixture
def cost_201():
    """A 2.0.1 station's session on EVSE 2, connector 1: named by the station's transaction id."""
    connector = ConnectorFactory(charger=ChargerFactory(ocpp_version="2.0.1"), evse_id=2, connector_id=1)
    return _priced(connector=connector, transaction_id=None, transaction_uid="a1b2c3d4-201", id_tag="CARD-201")


def test_charger_supplied_strings_are_escaped(cost):
    html = receipt_html(cost)
    assert "<img" not in html
    assert "&lt;img" in html


def test_the_renderer_fetches_no_remote_or_file_url():
    with pytest.raises(ForbiddenFetch):
        static_file_for("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ForbiddenFetch):
        static_file_for("file:///etc/passwd")


@needs_pdf
def test_the_receipt_pdf_says_what_was_charged(cost, tmp_path):
    path = tmp_path / "receipt.pdf"
    path.write_bytes(receipt_pdf(cost))
    text = pdf_text(path)
    assert "Charging receipt" in text
    assert "Transaction 4711" in text
    assert "Energy at 0.40/kWh" in text
    assert "9.52 EUR" in text
    assert "20.000 kWh" in text
    assert "2026-01-15 21:00" in text  # the site's local time (Europe/Berlin in the factory)


@needs_pdf
def test_receipts_download_from_the_admin_and_the_api(admin_client, cost):
    admin_response = admin_client.get(reverse("admin:billing_sessioncost_receipt", args=[cost.pk]))
    assert admin_response.status_code == 200
    assert admin_response["Content-Type"] == "application/pdf"
    assert admin_response.content.startswith(b"%PDF")
    member = UserFactory()
    MembershipFactory(user=member, organization=cost.session.charger.site.organization, role="viewer")
    client = APIClient()
    client.force_authenticate(member)
    api_response = client.get(f"/api/v1/session-costs/{cost.pk}/receipt")
    assert api_response.status_code == 200
    assert api_response.content.startswith(b"%PDF")
    stranger = UserFactory()
    client.force_authenticate(stranger)
    assert client.get(f"/api/v1/session-costs/{cost.pk}/receipt").status_code == 404


def test_a_2_0_1_receipt_names_the_stations_transaction_and_the_evse(cost_201, cost):
    html = receipt_html(cost_201)
    assert "<title>Receipt a1b2c3d4-201</title>" in html
    assert "Transaction a1b2c3d4-201 at charger" in html
    assert "connector EVSE 2 / 1<br>" in html
    assert "Transaction 4711 at charger" in receipt_html(cost)  # 1.6: our integer id, connector "1"
    assert "connector 1<br>" in receipt_html(cost)


@needs_pdf
def test_the_receipt_pdf_of_a_2_0_1_session_renders_with_its_transaction_id(cost_201, tmp_path):
    path = tmp_path / "receipt.pdf"
    path.write_bytes(receipt_pdf(cost_201))
    text = pdf_text(path)
    assert "Transaction a1b2c3d4-201" in text
    assert "connector EVSE 2 / 1" in text
    assert "9.52 EUR" in text


def test_the_session_cost_page_shows_the_breakdown_as_a_table(admin_client, cost):
    page = admin_client.get(reverse("admin:billing_sessioncost_change", args=[cost.pk])).content.decode()
    assert "<th>Item</th>" in page
    assert "Unit price" in page
    assert '"lines"' not in page  # not the stored JSON


def test_tariff_assignments_list_their_validity_in_the_sites_time_zone(admin_client):
    from billing.models import Tariff, TariffAssignment
    from sites.tests.factories import SiteFactory

    site = SiteFactory(timezone="Europe/Paris")
    tariff = Tariff.objects.create(organization=site.organization, name="Night")
    TariffAssignment.objects.create(tariff=tariff, site=site, valid_from=dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC))
    page = admin_client.get(reverse("admin:billing_tariffassignment_changelist")).content.decode()
    assert "2 Dec 2026, 00:00 CET" in page
    assert "open-ended" in page
