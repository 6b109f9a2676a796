"""Values the charging domain puts into OCPP payloads it builds (ReserveNow, SendLocalList,
SetChargingProfile)."""

import datetime as dt


def ocpp_datetime(moment: dt.datetime) -> str:
    """OCPP dateTime: UTC with a "Z" (1.6 sec. 7: dateTime in UTC)."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
