"""PDF receipts (WeasyPrint). The template is autoescaped (charger-supplied strings, S21) and
rendered through common.pdf, which fetches our static files only: no remote URL and no other
local file (S20)."""

from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.template.loader import render_to_string

from billing.models import SessionCost
from charging.services.shared import transaction_ref
from common.pdf import render_pdf


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
            # The id the charger knows (and shows the driver): our integer in 1.6, its own in 2.0.1.
            "transaction_id": transaction_ref(session),
            # 2.0.1 numbers connectors per EVSE: "EVSE 2 / 1" says which one; 1.6: "2".
            "connector": (
                f"EVSE {session.connector.evse_id} / {session.connector.connector_id}"
                if session.connector.evse_id is not None
                else str(session.connector.connector_id)
            ),
            # Formatted here: the template's date filter would convert to the server's time zone.
            "started_local": f"{session.started_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "stopped_local": f"{session.stopped_at.astimezone(zone):%Y-%m-%d %H:%M}" if session.stopped_at else "",
            "energy_kwh": f"{session.energy_wh / 1000:.3f}",
        },
    )


def receipt_pdf(cost: SessionCost) -> bytes:
    return render_pdf(receipt_html(cost))


def receipt_response(cost: SessionCost) -> HttpResponse:
    response = HttpResponse(receipt_pdf(cost), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{cost.session_id}.pdf"'
    return response
