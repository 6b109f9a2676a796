"""Changing an ID token's standing outside its form: block it (a lost card), accept it again.
The next Authorize (and the next local list sent) answers with the new status; audited."""

from django.db import transaction

from accounts.services import record_change, snapshot
from charging.models import IdToken, IdTokenStatus


@transaction.atomic
def set_token_status(*, token: IdToken, status: str, by, via: str) -> bool:
    """Give the token `status` (an IdTokenStatus); False when it had it already."""
    if status not in IdTokenStatus.values:
        raise ValueError(f"Unknown id token status: {status}")
    locked = IdToken.objects.select_for_update().get(pk=token.pk)
    if locked.status == status:
        return False
    before = snapshot(locked)
    locked.status = status
    locked.save(update_fields=["status"])
    record_change(actor=by, verb="changed", obj=locked, via=via, before=before)
    token.status = status
    return True
