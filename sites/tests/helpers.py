from django.test import TestCase
from django.utils import timezone

from sites.commands import claim_next_command, settle_command
from sites.commands.intents import Intent
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.models import Command

ACCEPTED = Outcome(status=OutcomeStatus.ACCEPTED, detail="Accepted")


def neutral_encode(intent: Intent, secret: str) -> tuple[str, dict]:
    """A stand-in for a gateway codec: the intent's kind and fields (and the secret, if any)."""
    return intent.kind, {**intent.to_fields(), **({"secret": secret} if secret else {})}


def answer_command(command: Command, outcome: Outcome = ACCEPTED, result: dict | None = None) -> Command:
    """What the gateway does for a command: claim it, send it (here: nothing), settle it with
    the outcome its codec decoded from the charger's answer; the settlement's signal runs as
    after a commit."""
    claimed = claim_next_command(
        charger_id=command.charger_id, message_id="m", at=timezone.now(), encode=neutral_encode
    )
    assert claimed is not None
    assert claimed.id == command.pk, "not the oldest queued command of its charger"
    with TestCase.captureOnCommitCallbacks(execute=True):
        return settle_command(command_id=command.pk, at=timezone.now(), outcome=outcome, result=result)


def rejected(detail: str = "Rejected") -> Outcome:
    return Outcome(status=OutcomeStatus.REJECTED, detail=detail)
