"""A charger registering with its boot message, in both versions (1.6 sec. 4.2, 2.0.1 B01-B04):
what it says about itself is stored and it is answered with its registration status. The
version's handler maps the payload to `BootInfo` and the decision back to its own fields."""

import datetime as dt
from functools import partial

from django.conf import settings

from ocpp_gateway.connection import Connection
from ocpp_gateway.seam import BOOTS, TRANSACTIONS
from sites.models import RegistrationStatus
from sites.services import BootDecision, BootIn, BootInfo, record_unknown_charger_attempt


async def register(conn: Connection, info: BootInfo, received_at: dt.datetime) -> BootDecision:
    """The answer to the charger's boot message: a known charger's status and interval (the
    heartbeat interval when Accepted, else when to boot again); an unknown one held Pending by
    policy (S1) is remembered with what it says it is, for adoption, and told to retry."""
    if conn.charger_id is None:
        await TRANSACTIONS.submit(
            partial(
                record_unknown_charger_attempt,
                charge_point_id=conn.charge_point_id,
                remote_address="",
                subprotocols="",
                at=received_at,
                boot=info,
            )
        )
        return BootDecision(RegistrationStatus.PENDING, settings.OCPP_BOOT_RETRY_INTERVAL)
    decision = await BOOTS.submit(BootIn(conn.charger_id, info, received_at))
    conn.registration_status = decision.status
    return decision
