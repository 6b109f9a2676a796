"""ISO 4217 currencies (the `iso4217` package's table): the codes a tariff may use, and how
many minor units each has, which is how far its amounts are rounded (JPY 0, EUR 2).

Session costs are stored with two decimals, so the few currencies with three minor units
(BHD, IQD, JOD, KWD, LYD, OMR, TND) are not offered rather than silently rounded."""

from functools import cache

from iso4217 import Currency

# Funds, precious metals and testing codes have no minor unit to round to: not for tariffs.
_NOT_MONEY = {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}


@cache
def currency_choices() -> list[tuple[str, str]]:
    return sorted(
        (currency.code, f"{currency.code} - {currency.currency_name}")
        for currency in Currency
        if currency.code not in _NOT_MONEY and currency.exponent is not None and currency.exponent <= 2
    )


def minor_units(code: str) -> int:
    """Decimal places of the currency's amounts; 2 for a code the table does not know."""
    try:
        exponent = Currency(code.upper()).exponent
    except ValueError:
        return 2
    return exponent if exponent is not None else 2
