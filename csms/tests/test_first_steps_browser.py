"""A new operator's first steps in a real browser (issue 19; Playwright, Debian's chromium): the
login page lands on the dashboard, a tariff that would pay drivers to charge is refused with the
error beside the field, and a viewer sees a charger's page without any command button.

Skipped when chromium is missing, unless CSMS_REQUIRE_BROWSER=1 (CI installs it)."""

import pytest

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from billing.models import Tariff
from common.tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

require_browser()
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

PASSWORD = "correct horse battery staple"


@pytest.fixture
def organization():
    return OrganizationFactory(name="Alpha Charging", slug="alpha")


def person(organization, role: str):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=organization, role=role)
    return user


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM work is done outside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(browser, live_server, user):
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")  # the dashboard, not /accounts/profile/
    return page


@pytest.mark.django_db(transaction=True)
def test_a_negative_price_is_refused_beside_the_field(live_server, browser, organization):
    page = log_in(browser, live_server, person(organization, "admin"))
    expect(page.locator("#dashboard")).to_be_visible()
    page.goto(f"{live_server.url}/admin/billing/tariff/add/")
    # The organization is an autocomplete (select2): open it, search, pick.
    page.click("#id_organization + .select2 .select2-selection")
    page.fill(".select2-search__field", "Alpha")
    page.click(".select2-results__option >> text=Alpha Charging")
    page.fill("input[name=name]", "Pays drivers to charge")
    page.fill("input[name=price_per_kwh]", "-0.10")
    page.click("[type=submit][name=_save]")
    expect(page.get_by_text("cannot be negative")).to_be_visible()
    assert page.url.endswith("/admin/billing/tariff/add/")  # the form again, not "added successfully"
    assert not Tariff.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_viewer_sees_a_charger_without_command_buttons(live_server, browser, organization):
    charger = ChargerFactory(site=SiteFactory(organization=organization), charge_point_id="CP-FIRST-STEPS")
    ConnectorFactory(charger=charger, connector_id=1)
    operator, viewer = person(organization, "operator"), person(organization, "viewer")
    page_url = f"{live_server.url}/admin/sites/charger/{charger.pk}/change/"

    as_operator = log_in(browser, live_server, operator)
    as_operator.goto(page_url)
    expect(as_operator.locator("[data-connector]").first).to_be_visible()
    assert as_operator.locator("[data-operation]").count() > 0

    as_viewer = log_in(browser, live_server, viewer)  # new_page: a context of its own, its own cookies
    as_viewer.goto(page_url)
    expect(as_viewer.locator("[data-connector]").first).to_be_visible()
    expect(as_viewer.get_by_text("CP-FIRST-STEPS").first).to_be_visible()
    assert as_viewer.locator("[data-operation]").count() == 0
