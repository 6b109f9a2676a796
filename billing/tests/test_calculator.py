"""The tariff calculator, table-driven: every component and band boundary."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.calculator import Band, Reading, TariffSpec, Usage, price_session

UTC = dt.UTC
BERLIN = "Europe/Berlin"  # UTC+1 in January


def at(hour: int, minute: int = 0, day: int = 15) -> dt.datetime:
    """A UTC instant on 2026-01-<day>."""
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=UTC)


NIGHT = Band(dt.time(22, 0), dt.time(6, 0), price_per_kwh=D("0.20"), price_per_minute=D("0"))

CASES = [
    # (name, tariff, usage, expected lines [(kind, amount)], expected net)
    (
        "flat fee only",
        TariffSpec("EUR", flat_fee=D("1.50")),
        Usage(at(10), at(11), 0, 5000),
        [("session", "1.50")],
        "1.50",
    ),
    (
        "per kWh",
        TariffSpec("EUR", price_per_kwh=D("0.30")),
        Usage(at(10), at(11), 1000, 11000),
        [("energy", "3.00")],
        "3.00",
    ),
    (
        "per minute of charging",
        TariffSpec("EUR", price_per_minute=D("0.02")),
        Usage(at(10), at(11, 30), 0, 9000),
        [("time", "1.80")],
        "1.80",
    ),
    (
        "idle fee after the grace period",
        TariffSpec("EUR", idle_fee_per_minute=D("0.10"), idle_grace_minutes=30),
        # energy flows for the first hour, the car stays plugged in for another hour
        Usage(at(10), at(12), 0, 10000, readings=(Reading(at(11), 10000),)),
        [("idle", "3.00")],
        "3.00",
    ),
    (
        "idle within the grace period is free",
        TariffSpec("EUR", idle_fee_per_minute=D("0.10"), idle_grace_minutes=60),
        Usage(at(10), at(12), 0, 10000, readings=(Reading(at(11), 10000),)),
        [],
        "0.00",
    ),
    (
        "energy split at a band start (21:00-23:00 Berlin, night from 22:00)",
        TariffSpec("EUR", price_per_kwh=D("0.40"), bands=(NIGHT,)),
        Usage(at(20), at(22), 0, 20000, timezone=BERLIN),
        [("energy", "2.00"), ("energy", "4.00")],  # 10 kWh at 0.20, 10 kWh at 0.40
        "6.00",
    ),
    (
        "a session crossing midnight stays in the night band",
        TariffSpec("EUR", price_per_kwh=D("0.40"), bands=(NIGHT,)),
        Usage(at(22), at(1, day=16), 0, 30000, timezone=BERLIN),  # 23:00-02:00 Berlin
        [("energy", "6.00")],
        "6.00",
    ),
    (
        "the band change at 06:00 (05:00-07:00 Berlin)",
        TariffSpec("EUR", price_per_kwh=D("0.40"), price_per_minute=D("0.01"), bands=(NIGHT,)),
        Usage(at(4), at(6), 0, 12000, timezone=BERLIN),
        # 6 kWh at night, 6 kWh by day; charging time is free at night, 60 min at 0.01 by day
        [("energy", "1.20"), ("energy", "2.40"), ("time", "0.60")],
        "4.20",
    ),
    (
        "the same UTC hours in another time zone miss the band",
        TariffSpec("EUR", price_per_kwh=D("0.40"), bands=(NIGHT,)),
        Usage(at(20), at(22), 0, 20000, timezone="UTC"),  # 20:00-22:00 UTC
        [("energy", "8.00")],
        "8.00",
    ),
    (
        "uneven power: energy follows the readings",
        TariffSpec("EUR", price_per_kwh=D("0.40"), bands=(NIGHT,)),
        # 21:00-21:30 Berlin: 9 kWh; 21:30-22:30: 2 kWh (half of it after 22:00)
        Usage(at(20), at(21, 30), 0, 11000, timezone=BERLIN, readings=(Reading(at(20, 30), 9000),)),
        [("energy", "0.20"), ("energy", "4.00")],
        "4.20",
    ),
    (
        "a register going backwards adds no energy",
        TariffSpec("EUR", price_per_kwh=D("0.50")),
        Usage(at(10), at(12), 5000, 7000, readings=(Reading(at(11), 3000),)),
        [("energy", "2.00")],  # 0 for 5000->3000, 4 kWh for 3000->7000
        "2.00",
    ),
    (
        "minimum price",
        TariffSpec("EUR", price_per_kwh=D("0.30"), min_price=D("2.00")),
        Usage(at(10), at(10, 5), 0, 1000),
        [("energy", "0.30")],
        "2.00",
    ),
    (
        "maximum price",
        TariffSpec("EUR", price_per_kwh=D("0.30"), max_price=D("10.00")),
        Usage(at(10), at(14), 0, 50000),
        [("energy", "15.00")],
        "10.00",
    ),
    (
        "half-cent amounts round half up per line",
        TariffSpec("EUR", price_per_kwh=D("0.305")),
        Usage(at(10), at(11), 0, 1000),
        [("energy", "0.31")],
        "0.31",
    ),
]


@pytest.mark.parametrize(("name", "tariff", "usage", "lines", "net"), CASES, ids=[case[0] for case in CASES])
def test_price_session(name, tariff, usage, lines, net):
    price = price_session(tariff, usage)
    assert [(line.kind, str(line.amount)) for line in price.lines] == lines
    assert str(price.net) == net


@pytest.mark.parametrize(
    ("net_rate", "vat_percent", "vat", "total"),
    [("10.00", "19", "1.90", "11.90"), ("0.05", "19", "0.01", "0.06"), ("3.33", "7", "0.23", "3.56")],
)
def test_vat_is_computed_on_the_net_total_and_rounded_once(net_rate, vat_percent, vat, total):
    tariff = TariffSpec("EUR", flat_fee=D(net_rate), vat_percent=D(vat_percent))
    price = price_session(tariff, Usage(at(10), at(11), 0, 0))
    assert (str(price.vat), str(price.total)) == (vat, total)


def test_the_breakdown_serializes_as_strings():
    price = price_session(TariffSpec("EUR", price_per_kwh=D("0.30"), min_price=D("5")), Usage(at(10), at(11), 0, 1000))
    body = price.as_dict()
    assert body["currency"] == "EUR"
    assert body["lines"][0]["amount"] == "0.30"
    assert body["net"] == "5.00"
    assert body["adjustments"] == ["raised to the minimum price 5"]
