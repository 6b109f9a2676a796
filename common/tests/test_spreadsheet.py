import pytest

from common.spreadsheet import escape_formula


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),
        ("+49", "+49"),
        ("1e-3", "1e-3"),
        ("Alice", "Alice"),
        (42, 42),
        (None, None),
    ],
)
def test_escape_formula(value, expected):
    assert escape_formula(value) == expected
