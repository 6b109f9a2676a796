"""Sharing chargers with partner organizations (issue 5) through django-guardian object
permissions on the partner organization's group."""

from django.core.exceptions import ValidationError
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Organization
from accounts.roles import SHARED_CHARGER_PERMISSIONS
from accounts.services import organization_group
from sites.models import Charger, ChargerShare


@transaction.atomic
def share_charger(*, charger: Charger, partner: Organization) -> ChargerShare:
    if partner.kind != Organization.Kind.PARTNER:
        raise ValidationError("Chargers are shared with partner organizations only.")
    share, _ = ChargerShare.objects.get_or_create(charger=charger, partner=partner)
    group = organization_group(partner)
    for permission in SHARED_CHARGER_PERMISSIONS:
        assign_perm(permission, group, charger)
    return share


@transaction.atomic
def unshare_charger(*, share: ChargerShare) -> None:
    group = organization_group(share.partner)
    for permission in SHARED_CHARGER_PERMISSIONS:
        remove_perm(permission, group, share.charger)
    share.delete()
