from django.db.models.signals import post_delete
from django.dispatch import receiver

from reports.models import ReportExport


@receiver(post_delete, sender=ReportExport)
def delete_export_file(sender, instance: ReportExport, **kwargs) -> None:
    """The file goes with its row: nobody could download it any more."""
    if instance.file:
        instance.file.delete(save=False)
