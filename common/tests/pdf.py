"""PDF test helpers: skip when WeasyPrint's libraries or pdftotext are missing, except in CI."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _pdf_tools_present() -> bool:
    try:
        import weasyprint  # noqa: F401  (loads Pango)
    except OSError:
        return False
    return shutil.which("pdftotext") is not None


# CI installs the PDF libraries and tools and sets CSMS_REQUIRE_PDF, so these tests run there.
needs_pdf = pytest.mark.skipif(
    not _pdf_tools_present() and not os.environ.get("CSMS_REQUIRE_PDF"),
    reason="WeasyPrint's system libraries (Pango) or pdftotext are missing; see README",
)


def pdf_text(path: Path) -> str:
    """The text of a PDF file, as pdftotext reads it."""
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
