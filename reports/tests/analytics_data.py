"""Fixed data for the analytics tests: two tenants, times chosen around bucket boundaries.

Organization A: site "A site" (Europe/Berlin, UTC+2 in June) with A-CP1 (connectors 1, 2)
and A-CP2 (connector 1). Organization B: "B site" (UTC) with B-CP1. The report range is
1-2 June 2025 in Berlin: [2025-05-31 22:00Z, 2025-06-02 22:00Z), 48 hours.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from billing.models import SessionCost
from charging.models import ChargingSession, MeterValue
from reports.analytics import AnalyticsQuery, local_range
from sites.models import ConnectionEvent, StatusNotificationRecord
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
START, END = local_range(dt.date(2025, 6, 1), dt.date(2025, 6, 2), BERLIN)


def utc(day: int, hour: int, minute: int = 0, month: int = 6) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=dt.UTC)


def query(**overrides) -> AnalyticsQuery:
    return AnalyticsQuery(**{"start": START, "end": END, "tz": BERLIN, "period": "day", "group_by": "site",
                             **overrides})  # fmt: skip


_transaction_ids = iter(range(1000, 100000))


def session(connector, started_at, stopped_at, energy_wh, cost: tuple[str, str] | None = None):
    row = ChargingSession.objects.create(
        charger=connector.charger,
        connector=connector,
        transaction_id=next(_transaction_ids),
        state="completed" if stopped_at else "active",
        started_at=started_at,
        stopped_at=stopped_at,
        meter_start_wh=0,
        meter_stop_wh=energy_wh if stopped_at else None,
        energy_wh=energy_wh,
    )
    if cost:
        currency, total = cost
        SessionCost.objects.create(session=row, currency=currency, net=Decimal(total), vat=0, total=Decimal(total))
    return row


def sample(connector, at, value, *, measurand="Power.Active.Import", unit="W", phase="", charger=None):
    return MeterValue.objects.create(
        charger=charger or connector.charger,
        connector=connector,
        timestamp=at,
        measurand=measurand,
        unit=unit,
        phase=phase,
        value=Decimal(str(value)),
        raw_value=str(value),
    )


def build() -> dict:
    org_a, org_b = OrganizationFactory(name="A Org", slug="a-org"), OrganizationFactory(name="B Org", slug="b-org")
    site_a = SiteFactory(organization=org_a, name="A site", timezone="Europe/Berlin")
    site_b = SiteFactory(organization=org_b, name="B site", timezone="UTC")
    cp1 = ChargerFactory(site=site_a, charge_point_id="A-CP1")
    cp2 = ChargerFactory(site=site_a, charge_point_id="A-CP2")
    b_cp = ChargerFactory(site=site_b, charge_point_id="B-CP1")
    c11, c12 = ConnectorFactory(charger=cp1, connector_id=1), ConnectorFactory(charger=cp1, connector_id=2)
    c21, b1 = ConnectorFactory(charger=cp2, connector_id=1), ConnectorFactory(charger=b_cp, connector_id=1)

    # Sessions. Berlin = UTC+2.
    session(c11, utc(1, 21, 30), utc(1, 23, 30), 10_000, ("EUR", "5.00"))  # 23:30-01:30 local: counts for 1 June
    session(c12, utc(31, 21, month=5), utc(31, 23, month=5), 4_000)  # starts before the range: cut to 1 h
    session(c12, utc(1, 22, 30), utc(1, 23, 30), 1_000)  # 00:30 local on 2 June (1 June in UTC)
    session(c11, utc(2, 8), utc(2, 9), 7_500, ("EUR", "3.50"))
    session(c21, utc(2, 10), utc(2, 10, 30), 2_500, ("CHF", "2.00"))
    session(c11, utc(3, 8), utc(3, 9), 99_000, ("EUR", "99.00"))  # after the range
    session(b1, utc(1, 9), utc(1, 10), 20_000, ("EUR", "8.00"))  # the other tenant

    # Online/offline events.
    for charger, kind, at in [
        (cp1, "online", utc(31, 20, month=5)),
        (cp1, "offline", utc(1, 10)),
        (cp1, "online", utc(1, 12)),
        (cp2, "online", utc(2, 21)),
        (cp2, "offline", utc(2, 21, 30)),
        (b_cp, "online", utc(1, 0)),
    ]:
        ConnectionEvent.objects.create(charger=charger, kind=kind, at=at, reason="test")

    # Status history: two faults of A-CP1 in the range, one before it, one fine report.
    for charger, status, error, at in [
        (cp1, "Faulted", "GroundFailure", utc(1, 5)),
        (cp1, "Available", "NoError", utc(1, 6)),
        (cp1, "Charging", "HighTemperature", utc(2, 7)),
        (cp1, "Faulted", "GroundFailure", utc(30, 7, month=5)),
        (b_cp, "Faulted", "OtherError", utc(1, 7)),
    ]:
        StatusNotificationRecord.objects.create(charger=charger, connector_id=1, status=status, error_code=error,
                                                timestamp=at)  # fmt: skip

    # Power samples of A: quarter hour 10:00Z = mean(7000, 9000, 11 kW) + 5000 = 14 kW.
    sample(c11, utc(1, 10, 0), 7000)
    sample(c11, utc(1, 10, 5), 9000)
    sample(c11, utc(1, 10, 10), 11, unit="kW")
    sample(c12, utc(1, 10, 7), 5000)
    sample(c11, utc(1, 11, 0), 12000)  # 12 kW alone later
    sample(c11, utc(1, 10, 1), 20000, phase="L1")  # a phase value: not the total
    MeterValue.objects.create(charger=cp1, connector=None, timestamp=utc(1, 10, 2), measurand="Power.Active.Import",
                              value=50000, raw_value="50000")  # connector 0: would count twice  # fmt: skip
    sample(c11, utc(3, 10), 90000)  # after the range
    # Energy register only at B: +1000 Wh in 08:00-08:15Z (4 kW), +2500 Wh in 08:15-08:30Z (10 kW).
    sample(b1, utc(1, 8, 0), 1000, measurand="Energy.Active.Import.Register", unit="Wh")
    sample(b1, utc(1, 8, 10), 2000, measurand="Energy.Active.Import.Register", unit="Wh")
    sample(b1, utc(1, 8, 20), 4.5, measurand="Energy.Active.Import.Register", unit="kWh")

    member_a = UserFactory(is_staff=True)
    MembershipFactory(user=member_a, organization=org_a, role="viewer")
    member_b = UserFactory(is_staff=True)
    MembershipFactory(user=member_b, organization=org_b, role="operator")
    return {
        "org_a": org_a, "org_b": org_b, "site_a": site_a, "site_b": site_b, "cp1": cp1, "cp2": cp2, "b_cp": b_cp,
        "member_a": member_a, "member_b": member_b,
    }  # fmt: skip
