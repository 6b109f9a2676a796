"""S20: PDF rendering fetches our own static files and nothing else."""

import re
import subprocess

import pytest

from common.pdf import PDF_BASE_URL, ForbiddenFetch, render_pdf, static_file_for, static_only_url_fetcher
from common.tests.pdf import needs_pdf

STYLESHEET = f"{PDF_BASE_URL}static/reports/pdf.css"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/static/reports/pdf.css",
        "http://127.0.0.1:8000/static/reports/pdf.css",
        "file:///etc/passwd",
        "file:///static/reports/pdf.css",
        "data:text/css,body{}",
        "ftp://example.com/x.css",
        f"{PDF_BASE_URL}etc/passwd",  # our origin, but not under STATIC_URL
        f"{PDF_BASE_URL}static/../../../../etc/passwd",
        f"{PDF_BASE_URL}static/%2e%2e/%2e%2e/etc/passwd",
        f"{PDF_BASE_URL}static/reports/no-such-file.css",
    ],
)
def test_anything_but_a_local_static_file_is_refused(url):
    with pytest.raises(ForbiddenFetch):
        static_file_for(url)


def test_a_static_file_is_read_from_the_staticfiles_finders():
    path = static_file_for(STYLESHEET)
    assert path.name == "pdf.css"
    assert "@page" in path.read_text()


@needs_pdf
def test_the_weasyprint_fetcher_serves_static_files_and_refuses_the_rest():
    fetcher = static_only_url_fetcher()
    response = fetcher.fetch(STYLESHEET)
    assert response.content_type == "text/css"
    assert b"@page" in response.read()
    with pytest.raises(ForbiddenFetch):
        fetcher.fetch("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ForbiddenFetch):
        fetcher.fetch("file:///etc/passwd")


@needs_pdf
def test_a_rendered_pdf_uses_the_static_stylesheet_and_fetches_nothing_else(tmp_path, monkeypatch):
    asked = []
    fetch = type(static_only_url_fetcher()).fetch

    def recording(self, url, headers=None):
        asked.append(url)
        return fetch(self, url, headers)

    monkeypatch.setattr(type(static_only_url_fetcher()), "fetch", recording)
    html = (
        '<link rel="stylesheet" href="/static/reports/pdf.css">'
        '<img src="http://169.254.169.254/x.png"><img src="file:///etc/hostname">'
        "<p>Hello</p>"
    )
    path = tmp_path / "out.pdf"
    render_pdf(html, target=str(path))
    assert asked[0] == STYLESHEET
    assert set(asked[1:]) <= {"http://169.254.169.254/x.png", "file:///etc/hostname"}  # asked, and refused
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert width > height  # the stylesheet's A4 landscape page: it was fetched and applied
