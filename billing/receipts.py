"""PDF receipts (WeasyPrint). The template is autoescaped (charger-supplied strings, S21) and
the renderer fetches nothing: no remote URL and no local file (S20)."""

from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.template.loader import render_to_string

from billing.models import SessionCost


class ForbiddenFetch(Exception):
    pass


def refuse_all_urls(url: str, *args, **kwargs):
    """WeasyPrint's URL fetcher: receipts are self-contained, so any URL is refused."""
    raise ForbiddenFetch(f"receipts fetch no resources ({url[:80]!r})")


def receipt_html(cost: SessionCost) -> str:
    session = cost.session
    site = session.charger.site
    zone = ZoneInfo(site.timezone)
    return render_to_string(
        "billing/receipt.html",
        {
            "cost": cost,
            "session": session,
            "site": site,
            "organization": site.organization,
            # Formatted here: the template's date filter would convert to the server's time zone.
            "started_local": f"{session.started_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "stopped_local": f"{session.stopped_at.astimezone(zone):%Y-%m-%d %H:%M}" if session.stopped_at else "",
            "energy_kwh": f"{session.energy_wh / 1000:.3f}",
        },
    )


def receipt_pdf(cost: SessionCost) -> bytes:
    from weasyprint import HTML  # imported here: it loads system libraries (Pango)

    return HTML(string=receipt_html(cost), url_fetcher=refuse_all_urls).write_pdf()


def receipt_response(cost: SessionCost) -> HttpResponse:
    response = HttpResponse(receipt_pdf(cost), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{cost.session_id}.pdf"'
    return response
