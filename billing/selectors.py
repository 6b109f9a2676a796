import datetime as dt

from django.db.models import Q
from django.urls import reverse

from billing.models import SessionCost, Tariff, TariffAssignment
from charging.pricing import CostLine, CostSummary
from sites.models import Charger


def tariff_for(charger: Charger, at: dt.datetime) -> Tariff | None:
    """The tariff in force for a charger at a moment: the most specific valid assignment
    (charger, then site, then organization), the latest-starting one among equals."""
    valid = TariffAssignment.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), valid_from__lte=at)
    for target in ({"charger": charger}, {"site_id": charger.site_id},
                   {"organization_id": charger.site.organization_id}):  # fmt: skip
        assignment = valid.filter(**target).select_related("tariff").order_by("-valid_from").first()
        if assignment is not None:
            return assignment.tariff
    return None


def cost_summary(session_id: int) -> CostSummary | None:
    """A session's stored price for its page in the admin (charging.pricing's reader): the
    breakdown's lines as rows, and where the PDF receipt downloads from."""
    cost = SessionCost.objects.select_related("tariff").filter(session_id=session_id).first()
    if cost is None:
        return None
    breakdown = cost.breakdown if isinstance(cost.breakdown, dict) else {}
    lines = tuple(
        CostLine(
            description=str(line.get("description", "")),
            quantity=str(line.get("quantity", "")),
            unit_price=str(line.get("unit_price", "")),
            amount=str(line.get("amount", "")),
        )
        for line in breakdown.get("lines", [])
        if isinstance(line, dict)
    )
    return CostSummary(
        currency=cost.currency,
        lines=lines,
        net=str(cost.net),
        vat=str(cost.vat),
        total=str(cost.total),
        adjustments=tuple(str(item) for item in breakdown.get("adjustments", [])),
        computed_at=cost.computed_at,
        tariff=str(cost.tariff) if cost.tariff else "",
        receipt_url=reverse("admin:billing_sessioncost_receipt", args=[cost.pk]),
    )
