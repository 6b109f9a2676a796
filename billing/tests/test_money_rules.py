"""Safe edits of money (issue 19): prices, fees and limits never negative, the maximum not
below the minimum, VAT from 0 to 100 %, ISO 4217 currencies, amounts rounded to the currency's
minor unit, a tariff assignment with exactly one target: form errors in the admin, never a
saved tariff that pays drivers to charge."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from billing.calculator import Reading, TariffSpec, Usage, price_session
from billing.currencies import currency_choices, minor_units
from billing.models import Tariff, TariffAssignment
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def operator(client):
    organization = OrganizationFactory()
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=organization, role="admin")
    client.force_login(user)
    return client, organization


def _tariff_form(organization, **fields) -> dict:
    form = {
        "organization": organization.pk, "name": "Standard", "currency": "EUR", "vat_percent": "19",
        "flat_fee": "0", "price_per_kwh": "0.39", "price_per_minute": "0", "idle_fee_per_minute": "0",
        "idle_grace_minutes": "0", "min_price": "", "max_price": "",
        "bands-TOTAL_FORMS": "0", "bands-INITIAL_FORMS": "0", "bands-MIN_NUM_FORMS": "0", "bands-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    return {**form, **fields}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"price_per_kwh": "-0.10"}, "price_per_kwh", "cannot be negative"),
        ({"flat_fee": "-1"}, "flat_fee", "cannot be negative"),
        ({"min_price": "-2"}, "min_price", "cannot be negative"),
        ({"min_price": "10", "max_price": "5"}, "max_price", "cannot be below the minimum"),
        ({"vat_percent": "120"}, "vat_percent", "less than or equal to 100"),
        ({"currency": "EURO"}, "currency", "Select a valid choice"),
        ({"currency": "XAU"}, "currency", "Select a valid choice"),  # gold is not money for a tariff
    ],
)
def test_the_admin_refuses_a_tariff_that_makes_no_sense(operator, fields, field, message):
    client, organization = operator
    response = client.post(reverse("admin:billing_tariff_add"), _tariff_form(organization, **fields))
    assert response.status_code == 200  # the form again, with its error; nothing saved
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert not Tariff.objects.exists()


def test_a_sensible_tariff_is_saved(operator):
    client, organization = operator
    response = client.post(reverse("admin:billing_tariff_add"), _tariff_form(organization, currency="JPY"))
    assert response.status_code == 302
    assert Tariff.objects.get().currency == "JPY"


def test_a_tariff_assignment_names_exactly_one_target(operator):
    client, organization = operator
    tariff = Tariff.objects.create(organization=organization, name="Standard")
    site = SiteFactory(organization=organization)
    url = reverse("admin:billing_tariffassignment_add")
    base = {"tariff": tariff.pk, "valid_from_0": "2026-03-01", "valid_from_1": "08:00:00"}
    for targets in ({}, {"organization": organization.pk, "site": site.pk}):
        response = client.post(url, {**base, **targets})
        assert response.status_code == 200
        assert "Choose exactly one target" in str(response.context["adminform"].form.non_field_errors())
    assert client.post(url, {**base, "site": site.pk}).status_code == 302
    assert TariffAssignment.objects.get().site == site


def test_amounts_are_rounded_to_the_currencys_minor_unit():
    usage = Usage(started_at=T0, stopped_at=T0 + dt.timedelta(hours=1), meter_start_wh=0, meter_stop_wh=12_345,
                  readings=(Reading(T0 + dt.timedelta(hours=1), 12_345),), timezone="UTC")  # fmt: skip
    yen = price_session(TariffSpec("JPY", price_per_kwh=Decimal("45.5"), minor_units=minor_units("JPY")), usage)
    euro = price_session(TariffSpec("EUR", price_per_kwh=Decimal("0.455"), minor_units=minor_units("EUR")), usage)
    assert (yen.net, euro.net) == (Decimal("562"), Decimal("5.62"))  # 12.345 kWh: 561.6975 yen, 5.616975 euro


def test_the_currency_list_is_iso_4217_with_at_most_two_minor_units():
    codes = dict(currency_choices())
    assert {"EUR", "USD", "GBP", "JPY", "CHF", "SEK"} <= set(codes)
    assert not {"KWD", "XAU", "XXX"} & set(codes)
    assert (minor_units("JPY"), minor_units("EUR"), minor_units("NOPE")) == (0, 2, 2)
