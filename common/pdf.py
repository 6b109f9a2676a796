"""PDF rendering with WeasyPrint that fetches nothing but the project's own static files (S20).

Templates link stylesheets and images with `{% static %}`. Those relative URLs are resolved
against PDF_BASE_URL, an origin under the reserved `.invalid` top-level domain (it never
resolves), and the fetcher reads them through the staticfiles finders: no network and no
arbitrary file is ever touched. Every other URL (http(s) to anywhere else, file:, data:,
ftp:, ...) is refused, so a charger-supplied string that reaches a template cannot make the
server fetch internal addresses or read local files.
"""

import functools
import mimetypes
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

PDF_BASE_URL = "https://static.csms.invalid/"


class ForbiddenFetch(Exception):
    """A PDF template asked for a resource that is not one of our static files."""


def static_file_for(url: str) -> Path:
    """The local static file a PDF resource URL names; ForbiddenFetch for anything else."""
    parts = urlsplit(url)
    base = urlsplit(PDF_BASE_URL)
    if (parts.scheme.lower(), parts.netloc.lower()) != (base.scheme, base.netloc):
        raise ForbiddenFetch(f"PDFs fetch only local static files, not {url[:80]!r}")
    prefix = urlsplit(settings.STATIC_URL).path
    path = unquote(parts.path)
    relative = path.removeprefix(prefix)
    if not path.startswith(prefix) or not relative or ".." in PurePosixPath(relative).parts:
        raise ForbiddenFetch(f"not a static file: {url[:80]!r}")
    found = finders.find(relative)
    if found:
        return Path(found)
    # In production {% static %} names the hashed copy collected into STATIC_ROOT.
    if staticfiles_storage.exists(relative):
        return Path(staticfiles_storage.path(relative))
    raise ForbiddenFetch(f"no such static file: {relative[:80]!r}")


@functools.cache
def _fetcher_class():
    # WeasyPrint is imported on first use only: importing it loads Pango.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers=None) -> URLFetcherResponse:
            path = static_file_for(url)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})

    return StaticFilesOnlyFetcher


def static_only_url_fetcher():
    """A WeasyPrint URL fetcher that serves our static files and refuses every other URL."""
    return _fetcher_class()()


def render_pdf(html: str, target=None) -> bytes | None:
    """The PDF of `html` (written to `target`, a path or binary file, when given)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=static_only_url_fetcher()).write_pdf(target)
