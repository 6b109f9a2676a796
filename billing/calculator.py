"""The tariff calculator: a pure function from a tariff and a session's usage to a priced
breakdown. Decimal throughout, explicit rounding, no ORM (issue 6).

Rules:
- Energy between two meter readings is spread evenly over that time; the part inside a
  time-of-day band is priced at the band's rate, the rest at the tariff's base rate.
- Bands are local times of the site's time zone; a band whose end is not after its start
  wraps past midnight (22:00-06:00). Bands must not overlap.
- Charging minutes run from the start to the last moment energy flowed; idle minutes from
  then to the stop, minus the grace period.
- Each line is rounded half-up to the currency's minor unit (cents; none for JPY; mills for
  KWD); the minimum and maximum apply to the net total; VAT is computed on the net total and
  rounded once.
"""

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class Band:
    start: dt.time
    end: dt.time
    price_per_kwh: Decimal | None = None
    price_per_minute: Decimal | None = None

    def covers(self, local: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # wraps past midnight


@dataclass(frozen=True, slots=True)
class TariffSpec:
    currency: str
    vat_percent: Decimal = ZERO
    flat_fee: Decimal = ZERO
    price_per_kwh: Decimal = ZERO
    price_per_minute: Decimal = ZERO
    idle_fee_per_minute: Decimal = ZERO
    idle_grace_minutes: int = 0
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    bands: tuple[Band, ...] = ()
    minor_units: int = 2  # decimal places of the currency's amounts (billing.currencies)


@dataclass(frozen=True, slots=True)
class Reading:
    at: dt.datetime
    register_wh: int


@dataclass(frozen=True, slots=True)
class Usage:
    started_at: dt.datetime
    stopped_at: dt.datetime
    meter_start_wh: int
    meter_stop_wh: int
    timezone: str = "UTC"
    readings: tuple[Reading, ...] = ()  # between start and stop, in any order


@dataclass(frozen=True, slots=True)
class Line:
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Price:
    currency: str
    lines: tuple[Line, ...]
    net: Decimal
    vat: Decimal
    total: Decimal
    adjustments: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "lines": [
                {"kind": line.kind, "description": line.description, "quantity": str(line.quantity),
                 "unit_price": str(line.unit_price), "amount": str(line.amount)}
                for line in self.lines
            ],
            "net": str(self.net),
            "vat": str(self.vat),
            "total": str(self.total),
            "adjustments": list(self.adjustments),
        }  # fmt: skip


def _rounder(minor_units: int):
    quantum = Decimal(1).scaleb(-minor_units)

    def _round(value: Decimal) -> Decimal:
        return value.quantize(quantum, rounding=ROUND_HALF_UP)

    return _round


def _intervals(usage: Usage) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """(from, to, Wh) between consecutive readings; a register going backwards adds nothing."""
    points = [Reading(usage.started_at, usage.meter_start_wh)]
    points += sorted((r for r in usage.readings if usage.started_at < r.at < usage.stopped_at), key=lambda r: r.at)
    points.append(Reading(usage.stopped_at, usage.meter_stop_wh))
    return [(a.at, b.at, max(b.register_wh - a.register_wh, 0)) for a, b in itertools.pairwise(points)]


def _band_for(tariff: TariffSpec, moment: dt.datetime, zone: ZoneInfo) -> Band | None:
    local = moment.astimezone(zone).time()
    return next((band for band in tariff.bands if band.covers(local)), None)


def _boundaries(start: dt.datetime, end: dt.datetime, tariff: TariffSpec, zone: ZoneInfo) -> list[dt.datetime]:
    """The instants in (start, end) where a band begins or ends, in the site's local time."""
    if not tariff.bands:
        return []
    cuts = set()
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = end.astimezone(zone).date() + dt.timedelta(days=1)
    while day <= last_day:
        for band in tariff.bands:
            for local in (band.start, band.end):
                moment = dt.datetime.combine(day, local, tzinfo=zone).astimezone(dt.UTC)
                if start < moment < end:
                    cuts.add(moment)
        day += dt.timedelta(days=1)
    return sorted(cuts)


def _pieces(start: dt.datetime, end: dt.datetime, tariff: TariffSpec, zone: ZoneInfo):
    """Split [start, end) at band boundaries: (from, to, band or None)."""
    edges = [start, *_boundaries(start, end, tariff, zone), end]
    for a, b in itertools.pairwise(edges):
        if b > a:
            yield a, b, _band_for(tariff, a, zone)


def _last_energy_at(usage: Usage, intervals) -> dt.datetime:
    flowing = [to for _, to, wh in intervals if wh > 0]
    return max(flowing) if flowing else usage.started_at


def price_session(tariff: TariffSpec, usage: Usage) -> Price:
    _round = _rounder(tariff.minor_units)
    zone = ZoneInfo(usage.timezone)
    intervals = _intervals(usage)
    energy: dict[Decimal, Decimal] = {}  # kWh per price
    for start, end, wh in intervals:
        seconds = Decimal((end - start).total_seconds())
        for a, b, band in _pieces(start, end, tariff, zone):
            share = Decimal((b - a).total_seconds()) / seconds if seconds else Decimal(1)
            rate = band.price_per_kwh if band and band.price_per_kwh is not None else tariff.price_per_kwh
            energy[rate] = energy.get(rate, ZERO) + Decimal(wh) * share / 1000

    charging_end = _last_energy_at(usage, intervals)
    minutes: dict[Decimal, Decimal] = {}
    for a, b, band in _pieces(usage.started_at, charging_end, tariff, zone):
        rate = band.price_per_minute if band and band.price_per_minute is not None else tariff.price_per_minute
        minutes[rate] = minutes.get(rate, ZERO) + Decimal((b - a).total_seconds()) / 60

    lines: list[Line] = []
    if tariff.flat_fee:
        lines.append(Line("session", "Session fee", Decimal(1), tariff.flat_fee, _round(tariff.flat_fee)))
    for rate, kwh in sorted(energy.items()):
        if rate and kwh:
            lines.append(
                Line("energy", f"Energy at {rate}/kWh", kwh.quantize(Decimal("0.001")), rate, _round(kwh * rate))
            )
    for rate, mins in sorted(minutes.items()):
        if rate and mins:
            lines.append(Line("time", f"Charging time at {rate}/min", mins.quantize(Decimal("0.01")), rate,
                              _round(mins * rate)))  # fmt: skip
    idle = Decimal((usage.stopped_at - charging_end).total_seconds()) / 60 - tariff.idle_grace_minutes
    if tariff.idle_fee_per_minute and idle > 0:
        lines.append(Line("idle", f"Idle after {tariff.idle_grace_minutes} min grace", idle.quantize(Decimal("0.01")),
                          tariff.idle_fee_per_minute, _round(idle * tariff.idle_fee_per_minute)))  # fmt: skip

    net = _round(sum((line.amount for line in lines), ZERO))
    adjustments = []
    if tariff.min_price is not None and net < tariff.min_price:
        adjustments.append(f"raised to the minimum price {tariff.min_price}")
        net = _round(tariff.min_price)
    if tariff.max_price is not None and net > tariff.max_price:
        adjustments.append(f"capped at the maximum price {tariff.max_price}")
        net = _round(tariff.max_price)
    vat = _round(net * tariff.vat_percent / 100)
    return Price(tariff.currency, tuple(lines), net, vat, net + vat, tuple(adjustments))
