"""Tenant isolation in the admin (S15): an operator of organization A, against the rows of
organization B, on every tenant-scoped admin."""

import io

import pytest
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.urls import reverse

from accounts.admin_tenancy import PlatformOnlyAdmin, TenantScopedAdmin
from accounts.models import Organization
from accounts.tenancy import organization_id_of
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from csms.tests.tenants import populate
from ocpp_gateway.models import MessageLog
from sites.models import Charger, Command

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenants(client):
    org_a, org_b = OrganizationFactory(name="A Org", slug="a-org"), OrganizationFactory(name="B Org", slug="b-org")
    rows_a, rows_b = populate(org_a, "A"), populate(org_b, "B")
    operator = UserFactory(is_staff=True)
    MembershipFactory(user=operator, organization=org_a, role="operator")
    MembershipFactory(organization=org_b, role="admin")  # a member of B, for the Membership admin
    client.force_login(operator)
    return client, org_a, org_b, rows_a, rows_b


def _rows_of(model, organization: Organization):
    model_admin = admin.site._registry[model]
    lookup = f"{model_admin.tenant_path}__in" if model_admin.tenant_path else "pk__in"
    if model is MessageLog:
        ids = Charger.objects.filter(site__organization=organization).values("charge_point_id")
        return model._default_manager.filter(charge_point_id__in=ids)
    return model._default_manager.filter(**{lookup: [organization.pk]})


TENANT_MODELS = sorted(
    (model for model, model_admin in admin.site._registry.items() if isinstance(model_admin, TenantScopedAdmin)),
    key=lambda model: model._meta.label,
)
PLATFORM_MODELS = sorted(
    (model for model, model_admin in admin.site._registry.items() if isinstance(model_admin, PlatformOnlyAdmin)),
    key=lambda model: model._meta.label,
)


def test_every_registered_admin_is_scoped_or_platform_only():
    unscoped = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, TenantScopedAdmin | PlatformOnlyAdmin) and model is not MessageLog
    ]
    assert unscoped == []


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda model: model._meta.label)
def test_changelists_and_change_views_show_only_the_users_organization(tenants, model):
    client, org_a, org_b, _, _ = tenants
    opts = model._meta
    mine, theirs = _rows_of(model, org_a).first(), _rows_of(model, org_b).first()
    assert mine is not None
    assert theirs is not None
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    listed = {row.pk for row in changelist.context["cl"].result_list}
    assert mine.pk in listed
    assert theirs.pk not in listed
    foreign = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[theirs.pk]))
    assert foreign.status_code in (302, 404)  # the admin redirects "does not exist" to its index
    assert str(theirs) not in foreign.content.decode() or foreign.status_code == 302


def test_message_log_is_scoped_by_the_users_chargers(tenants):
    client, *_ = tenants
    changelist = client.get(reverse("admin:ocpp_gateway_messagelog_changelist"))
    assert {row.charge_point_id for row in changelist.context["cl"].result_list} == {"A-CP"}
    conversation = client.get(reverse("admin:ocpp_gateway_messagelog_conversation", args=["B-CP"]))
    assert "B-CP" not in {entry["frame"].charge_point_id for entry in conversation.context["entries"]}


@pytest.mark.parametrize("model", PLATFORM_MODELS, ids=lambda model: model._meta.label)
def test_platform_pages_are_refused_to_tenants(tenants, model):
    client, *_ = tenants
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 403


def test_foreign_key_choices_offer_only_the_users_rows(tenants):
    client, _, _, rows_a, rows_b = tenants
    form = client.get(reverse("admin:sites_charger_add")).context["adminform"].form
    sites = set(form.fields["site"].queryset)
    assert rows_a["site"] in sites
    assert rows_b["site"] not in sites


def test_actions_cannot_reach_another_organizations_rows(tenants):
    client, _, _, _, rows_b = tenants
    before = Command.objects.count()
    client.post(
        reverse("admin:sites_charger_changelist"),
        {"action": "soft_reset", "_selected_action": [rows_b["charger"].pk]},
    )
    assert Command.objects.count() == before


def test_export_holds_only_the_users_rows(tenants):
    client, *_ = tenants
    response = client.post(
        reverse("admin:sites_charger_export"),
        {"format": "0", "resource": "0", "chargerresource_charge_point_id": "on"},
    )
    text = response.content.decode()
    assert "A-CP" in text
    assert "B-CP" not in text


def test_import_into_another_organization_is_refused(tenants):
    client, *_ = tenants
    upload = io.BytesIO(b"charge_point_id,organization,site\nSNEAKY-1,b-org,B site\n")
    upload.name = "fleet.csv"
    response = client.post(
        reverse("admin:sites_charger_import"), {"import_file": upload, "format": "0", "resource": "0"}
    )
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    assert not Charger.objects.filter(charge_point_id="SNEAKY-1").exists()


# --- list filters (S15): the sidebar names only what the user may see ------------------------

FILTERED_MODELS = sorted(
    (
        model
        for model, model_admin in admin.site._registry.items()
        if model_admin.list_filter and not isinstance(model_admin, PlatformOnlyAdmin)
    ),
    key=lambda model: model._meta.label,
)
# Values of B's rows that a filter built from the data (rather than from choices) would list.
B_ONLY_VALUES = ["B Org", "B site", "B-CP", "B-TAG", "B cap", "B tariff", "B partner", "ÖQ", "Pacific/Chatham"]
B_ONLY_VALUES += ["BReasonX", "B.Measurand", "B~unit", "B~9", "B.Context", "b-reason", "BKindX"]


def _mark_b_values(org_b: Organization, rows_b: dict) -> None:
    """B's rows carry values only B has, so a filter listing every tenant's values shows them."""
    from charging.models import MeterValue
    from sites.models import ConnectionEvent, SecurityEvent

    rows_b["site"].__class__.objects.filter(pk=rows_b["site"].pk).update(country="ÖQ", timezone="Pacific/Chatham")
    rows_b["session"].__class__.objects.filter(pk=rows_b["session"].pk).update(stop_reason="BReasonX")
    MeterValue.objects.filter(session=rows_b["session"]).update(
        measurand="B.Measurand", unit="B~unit", phase="B~9", context="B.Context"
    )
    ConnectionEvent.objects.filter(charger=rows_b["charger"]).update(reason="b-reason")
    SecurityEvent.objects.filter(charger=rows_b["charger"]).update(kind="BKindX")


def _is_b_row(obj, org_b: Organization) -> bool:
    if isinstance(obj, Organization):
        return obj.pk == org_b.pk or obj.name.startswith("B ")
    return organization_id_of(obj) == org_b.pk


def test_every_related_list_filter_is_covered():
    """The regression guard: a new related filter anywhere is scoped without an edit of its own."""
    related = [
        model
        for model in FILTERED_MODELS
        for item in admin.site._registry[model].list_filter
        if isinstance(item, str) and get_fields_from_path(model, item)[-1].is_relation
    ]
    assert len(set(related)) >= 14
    assert [model for model in related if not isinstance(admin.site._registry[model], TenantScopedAdmin)] == []


@pytest.mark.parametrize("model", FILTERED_MODELS, ids=lambda model: model._meta.label)
def test_list_filters_name_no_other_organizations_rows(tenants, model):
    client, _, org_b, _, rows_b = tenants
    _mark_b_values(org_b, rows_b)
    opts = model._meta
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert [value for value in B_ONLY_VALUES if value in page] == []
    for spec in response.context["cl"].filter_specs:
        field = getattr(spec, "field", None)
        if field is None or not field.is_relation:
            continue
        offered = {str(pk) for pk, _ in spec.lookup_choices}
        foreign = {str(obj.pk) for obj in field.related_model._default_manager.all() if _is_b_row(obj, org_b)}
        assert offered & foreign == set(), spec.title


@pytest.mark.parametrize("model", FILTERED_MODELS, ids=lambda model: model._meta.label)
def test_superusers_filters_offer_every_organization(tenants, model):
    client, *_ = tenants
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    opts = model._meta
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    for spec in response.context["cl"].filter_specs:
        field = getattr(spec, "field", None)
        if field is None or not field.is_relation or isinstance(spec, admin.RelatedOnlyFieldListFilter):
            continue
        offered = {pk for pk, _ in spec.lookup_choices}
        assert offered == set(field.related_model._default_manager.values_list("pk", flat=True)), spec.title


def test_a_foreign_id_in_the_url_is_not_shown_selected(tenants):
    client, _, org_b, _, rows_b = tenants
    response = client.get(reverse("admin:sites_charger_changelist"), {"site__organization__id__exact": org_b.pk})
    assert rows_b["charger"] not in response.context["cl"].result_list
    assert "B Org" not in response.content.decode()
