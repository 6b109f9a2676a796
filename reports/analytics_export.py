"""Analytics rows as plain dicts, CSV and chart data (shared by the admin pages and the API)."""

import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence

from common.spreadsheet import escape_formula


def as_dicts(rows: Iterable) -> list[dict]:
    return [dataclasses.asdict(row) for row in rows]


def flatten(rows: Sequence[dict]) -> tuple[list[str], list[dict]]:
    """Nested dicts become columns of their own ("revenue": {"EUR": ..} -> "revenue_EUR")."""
    columns: list[str] = []
    flat_rows = []
    for row in rows:
        flat: dict = {}
        for key, value in row.items():
            if isinstance(value, dict):
                flat.update({f"{key}_{sub}": sub_value for sub, sub_value in sorted(value.items())})
            else:
                flat[key] = value
        for key in flat:
            if key not in columns:
                columns.append(key)
        flat_rows.append(flat)
    return columns, flat_rows


def csv_text(rows: Sequence[dict], columns: Sequence[str] = ()) -> str:
    """CSV with a header; every cell formula-escaped (S21): site and charger names are user input."""
    found, flat_rows = flatten(rows)
    columns = found or list(columns)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in flat_rows:
        writer.writerow([escape_formula("" if row.get(c) is None else row.get(c)) for c in columns])
    return out.getvalue()
