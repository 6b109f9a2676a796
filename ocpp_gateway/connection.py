"""What the gateway knows about one open charger connection."""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol as Interface

from sites.models import RegistrationStatus


class Permit(Interface):
    """What one CALL of ours, answered Accepted by a charger that is not Accepted yet, lets it
    send (1.6 sec. 4.2: what a TriggerMessage asked for; 2.0.1 B02.FR.09: what TriggerMessage,
    GetBaseReport or GetReport asked for). Each version's rules make them (`Protocol.permit`)."""

    def covers(self, payload: dict) -> bool:
        """Whether this CALL payload (of the permitted action, valid against its schema) is one
        the charger was asked for."""

    def use(self, payload: dict) -> bool:
        """A CALL it covers was handled: True when the permit is used up."""


@dataclass(slots=True)
class One:
    """One message: what a trigger asked of the whole charger or of one connector or EVSE."""

    def covers(self, payload: dict) -> bool:
        return True

    def use(self, payload: dict) -> bool:
        return True


@dataclass(slots=True)
class OnePerLocation:
    """One message per connector, EVSE or transaction (`location` of the payload): a trigger
    that names no connector or EVSE of a message sent for each asks it "for all allowed" values
    (1.6 sec. 5.17, 2.0.1 F06.FR.11), how many the gateway cannot know before Accepted."""

    location: Callable[[dict], Hashable]
    sent: set[Hashable] = field(default_factory=set)

    def covers(self, payload: dict) -> bool:
        return self.location(payload) not in self.sent

    def use(self, payload: dict) -> bool:
        self.sent.add(self.location(payload))
        return False


@dataclass(slots=True)
class Connection:
    charge_point_id: str
    subprotocol: str
    connection_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # None: an unknown charger held Pending by the unknown-charger policy.
    charger_id: int | None = None
    registration_status: str = RegistrationStatus.PENDING
    last_touch: dt.datetime | None = None
    # What the charger may send before it is Accepted because we asked for it on this
    # connection, by action (1.6 sec. 4.2, 2.0.1 B02.FR.09): see `may_send`. Emptied once the
    # charger is Accepted, so that nothing asked for before reopens a later Pending.
    permits: dict[str, list[Permit]] = field(default_factory=dict)

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

    def grant(self, action: str, permit: Permit) -> None:
        """We asked the charger, not yet Accepted, to send `action` (see `Permit`)."""
        self.permits.setdefault(action, []).append(permit)

    def may_send(self, action: str, payload: dict) -> bool:
        """Whether a not-yet-Accepted charger was asked for this CALL (a dict lookup when it was
        asked for nothing, which is the rule)."""
        permits = self.permits.get(action)
        return permits is not None and any(permit.covers(payload) for permit in permits)

    def sent(self, action: str, payload: dict) -> None:
        """A CALL `may_send` let through was handled: it uses up its share of the first permit
        that covers it (after the handler, so that a CALL answered InternalError, which the
        charger sends again, keeps its permit)."""
        permits = self.permits.get(action)
        if permits is None:
            return
        for index, permit in enumerate(permits):
            if permit.covers(payload):
                if permit.use(payload):
                    del permits[index]
                    if not permits:
                        del self.permits[action]
                return


# A charger-initiated CALL's handler, in every version: the connection, the validated payload
# and when it arrived in; the CALLRESULT payload out.
Handler = Callable[[Connection, dict, dt.datetime], Awaitable[dict]]
