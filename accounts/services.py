"""Writes of the accounts app: organization groups (for shares) and the audit trail."""

import json

from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.forms.models import model_to_dict

from accounts.models import Activity, Membership, Organization
from accounts.tenancy import organization_id_of

# Never copied into the audit trail.
SECRET_FIELDS = {"password", "auth_key_hash", "pending_auth_key_hash", "sealed_secret", "secret", "secret_hash"}


def snapshot(obj) -> dict:
    """The object's field values, JSON-safe, without secrets."""
    values = {key: value for key, value in model_to_dict(obj).items() if key not in SECRET_FIELDS}
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder, default=str))


def diff(before: dict, after: dict) -> dict:
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record_activity(*, actor, verb: str, obj, via: str, changes: dict | None = None) -> Activity:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return Activity.objects.create(
        actor=user,
        organization_id=organization_id_of(obj),
        verb=verb,
        via=via,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk or ""),
        object_repr=str(obj)[:200],
        changes=changes or {},
    )


def record_change(*, actor, verb: str, obj, via: str, before: dict | None = None) -> Activity:
    """Audit a create ("created"), update ("changed", with `before`) or delete ("deleted",
    recorded before the row goes): the changes are the field values before and after."""
    before = before or ({} if verb == "created" else snapshot(obj))
    after = {} if verb == "deleted" else snapshot(obj)
    return record_activity(actor=actor, verb=verb, obj=obj, via=via, changes=diff(before, after))


@transaction.atomic
def organization_group(organization: Organization) -> Group:
    """The auth group that stands for the organization in object permissions."""
    if organization.group_id is None:
        organization.group, _ = Group.objects.get_or_create(name=f"organization:{organization.slug}")
        organization.save(update_fields=["group"])
    return organization.group


def sync_partner_group(membership: Membership, *, removed: bool = False) -> None:
    """Partner members belong to their organization's group, so they get what was shared
    with it; other roles (and removed members) do not."""
    group = organization_group(membership.organization)
    if removed or membership.role != "partner":
        membership.user.groups.remove(group)
    else:
        membership.user.groups.add(group)
