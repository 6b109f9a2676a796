from celery import shared_task

from reports.services import run_export


@shared_task
def run_export_task(export_id: int) -> str | None:
    """Not retried: a failed export is recorded on its row, and the operator asks again."""
    export = run_export(export_id=export_id)
    return export.status if export else None
