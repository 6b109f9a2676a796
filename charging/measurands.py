"""What meter readings measure, in which units, and how they convert: the vocabulary shared by
the session core, billing and reports. The names are those of both OCPP versions (1.6 sec. 7.31
Measurand and 7.45 UnitOfMeasure; 2.0.1 MeasurandEnumType and UnitOfMeasureType)."""

from decimal import Decimal

# The energy a session is billed on: the import register, read as a total (no phase).
ENERGY_REGISTER = "Energy.Active.Import.Register"
ACTIVE_POWER = "Power.Active.Import"

WH = "Wh"
KWH = "kWh"
W = "W"
KW = "kW"

# A reading's defaults when the charger leaves them out (the same in both versions).
DEFAULT_MEASURAND = ENERGY_REGISTER
DEFAULT_UNIT = WH
DEFAULT_CONTEXT = "Sample.Periodic"


def to_wh(value: Decimal, unit: str) -> Decimal:
    """An energy reading in Wh (Wh or kWh)."""
    return value * 1000 if unit == KWH else value


def to_w(value: Decimal, unit: str) -> Decimal:
    """A power reading in W (W or kW)."""
    return value * 1000 if unit == KW else value
