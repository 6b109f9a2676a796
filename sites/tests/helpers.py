from django.utils import timezone

from sites.commands import claim_next_command, settle_command
from sites.models import Command


def answer_command(command: Command, result: dict | None = None, **outcome) -> Command:
    """What the gateway does for a command: claim it, send it (here: nothing), settle it with
    the charger's answer (`result`), a CALLERROR (`error_code=...`) or `timed_out=True`."""
    claimed = claim_next_command(charger_id=command.charger_id, message_id="m", at=timezone.now())
    assert claimed is not None
    assert claimed.id == command.pk, "not the oldest queued command of its charger"
    return settle_command(command_id=command.pk, at=timezone.now(), result=result, **outcome)
