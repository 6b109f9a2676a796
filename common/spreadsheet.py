"""Spreadsheet safety for every CSV/XLSX the system writes (S21).

A cell that starts with =, +, -, @, a tab or a carriage return can be evaluated as a formula
by spreadsheet programs (OWASP "CSV injection"). Such cells get a leading apostrophe, which
spreadsheets show as text. Plain numbers such as -12.5 are left alone.
"""

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")


def escape_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


class FormulaSafeExportMixin:
    """For django-import-export resources: escape every exported cell."""

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))
