"""Writers of export files: rows in, bytes out to a binary file, one row at a time."""

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import BinaryIO

from django.template.loader import render_to_string

from common.pdf import render_pdf
from common.spreadsheet import escape_formula
from reports.selectors import SESSION_COLUMNS


def write_csv(rows: Iterable[dict], out: BinaryIO, columns: tuple[str, ...] = SESSION_COLUMNS) -> None:
    """UTF-8 with a byte-order mark (so spreadsheet programs read accents right); every cell
    formula-escaped, since id tags, stop reasons, payloads and charge point ids come from
    chargers (S21)."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([escape_formula(row[column]) for column in columns])
    text.flush()
    text.detach()  # leave `out` open for the caller


def write_json(rows: Iterable[dict], out: BinaryIO) -> None:
    """A JSON array written element by element, so it never exists whole in memory."""
    out.write(b"[")
    for index, row in enumerate(rows):
        out.write(b",\n" if index else b"\n")
        out.write(json.dumps(row, ensure_ascii=False).encode())
    out.write(b"\n]\n")


def write_pdf(rows: Iterator[dict], out: BinaryIO, *, limit: int, context: dict) -> None:
    """WeasyPrint lays out the whole document at once, so a PDF holds at most `limit` rows.
    The template is autoescaped (charger-supplied strings, S21)."""
    listed = list(itertools.islice(rows, limit))
    energy = sum((Decimal(row["energy_kwh"]) for row in listed), Decimal("0.000"))
    html = render_to_string(
        "reports/sessions.html", {**context, "rows": listed, "row_total": len(listed), "energy_kwh": f"{energy:.3f}"}
    )
    render_pdf(html, target=out)
