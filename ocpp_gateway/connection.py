"""What the gateway knows about one open charger connection."""

import datetime as dt
import uuid
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

    @property
    def accepted(self) -> bool:
        return self.charger_id is not None and self.registration_status == RegistrationStatus.ACCEPTED
