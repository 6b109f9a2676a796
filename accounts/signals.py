from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership
from accounts.services import sync_partner_group


@receiver(post_save, sender=Membership)
def membership_saved(sender, instance: Membership, **kwargs) -> None:
    sync_partner_group(instance)


@receiver(post_delete, sender=Membership)
def membership_deleted(sender, instance: Membership, **kwargs) -> None:
    sync_partner_group(instance, removed=True)
