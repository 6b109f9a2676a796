"""What the gateway knows about one open charger connection."""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sites.models import RegistrationStatus


@dataclass(slots=True)
class Connection:
    charge_point_id: str
    subprotocol: str
    connection_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # None: an unknown charger held Pending by the unknown-charger policy.
    charger_id: int | None = None
    registration_status: str = RegistrationStatus.PENDING
    last_touch: dt.datetime | None = None
    # What the charger may send before it is Accepted because we asked for it (TriggerMessage).
    triggered: set[str] = field(default_factory=set)

    @property
    def accepted(self) -> bool:
        return self.charger_id is not None and self.registration_status == RegistrationStatus.ACCEPTED

    @property
    def registered_id(self) -> int:
        """The charger's id, for handlers of CALLs that only a registered charger gets to send
        (the consumer refuses the others before they are Accepted: 2.0.1 B02.FR.09, S8)."""
        if self.charger_id is None:
            raise RuntimeError(f"{self.charge_point_id}: a CALL only a registered charger may send")
        return self.charger_id


# A charger-initiated CALL's handler, in every version: the connection, the validated payload
# and when it arrived in; the CALLRESULT payload out.
Handler = Callable[[Connection, dict, dt.datetime], Awaitable[dict]]
