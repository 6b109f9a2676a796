import datetime as dt

from django.db.models import Q

from billing.models import Tariff, TariffAssignment
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
