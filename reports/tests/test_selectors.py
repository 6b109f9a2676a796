"""Session history for reports: filters, tenant scoping, cost columns, and reading in chunks."""

import datetime as dt
import weakref

import pytest
from django.db.models.signals import post_init

from charging.models import ChargingSession
from reports import selectors
from reports.models import ReportExport
from reports.selectors import SessionFilters, exports_visible_to, session_history, session_rows
from reports.tests.conftest import JAN, session_at

pytestmark = pytest.mark.django_db


def _ids(organization, **filters) -> list[int]:
    return [session.pk for session in session_history(organization.pk, SessionFilters(**filters))]


def test_an_organization_sees_only_its_own_sessions_oldest_first(world):
    assert _ids(world.org_a) == [session.pk for session in world.sessions]
    assert _ids(world.org_b) == [world.b_session.pk]


def test_filters_by_site_charger_id_token_and_date_range(world):
    s1, s2, s3, s4 = world.sessions
    assert _ids(world.org_a, site=world.depot.pk) == [s3.pk, s4.pk]
    assert _ids(world.org_a, charger=world.charger1.pk) == [s1.pk, s2.pk]
    # The token's sessions include those whose idTag matched it only case-insensitively.
    assert _ids(world.org_a, id_token=world.token.pk) == [s1.pk, s2.pk]
    # date_from is inclusive, date_to exclusive (s3 started on January 20 at 10:00 UTC).
    jan_20 = JAN + dt.timedelta(days=19, hours=10)
    assert _ids(world.org_a, date_from=jan_20) == [s3.pk, s4.pk]
    assert _ids(world.org_a, date_to=jan_20) == [s1.pk, s2.pk]
    assert _ids(world.org_a, date_from=JAN + dt.timedelta(days=5), date_to=jan_20, charger=world.charger1.pk) == [s2.pk]


def test_filters_naming_another_organizations_rows_match_nothing(world):
    assert _ids(world.org_a, site=world.b_site.pk) == []
    assert _ids(world.org_a, charger=world.b_charger.pk) == []
    assert _ids(world.org_b, id_token=world.token.pk) == []


def test_rows_carry_the_price_when_billing_has_one(world):
    rows = list(session_rows(session_history(world.org_a.pk, SessionFilters(charger=world.charger1.pk))))
    priced, unpriced = rows
    assert priced == {
        "session_id": world.sessions[0].pk,
        "site": "Harbour",
        "charge_point_id": "A-HARBOUR-1",
        "connector_id": 1,
        "transaction_id": str(world.sessions[0].transaction_id),
        "id_tag": "CARD-1",
        "state": "completed",
        "started_at": "2026-01-03T10:00:00Z",
        "stopped_at": "2026-01-03T11:30:00Z",
        "duration_minutes": "90.0",
        "energy_kwh": "12.345",
        "meter_start_wh": 0,
        "meter_stop_wh": 12345,
        "stop_reason": "",
        "currency": "EUR",
        "net": "4.20",
        "vat": "0.80",
        "total": "5.00",
        "evse_id": None,  # a 1.6 connector
    }
    assert (unpriced["currency"], unpriced["total"]) == ("", "")
    assert tuple(priced) == selectors.SESSION_COLUMNS


def test_rows_are_read_in_one_query(world, django_assert_num_queries):
    sessions = session_history(world.org_a.pk, SessionFilters())
    with django_assert_num_queries(1):  # charger, site, connector and price joined, no query per row
        assert len(list(session_rows(sessions))) == 4


def test_rows_are_streamed_so_memory_does_not_grow_with_the_history(world, monkeypatch):
    """However long the history, only a chunk of sessions is held at a time; a queryset read
    whole would keep every session alive until the end."""
    connector = world.sessions[0].connector
    for day in range(1, 29):
        session_at(connector, day, id_tag=f"BULK-{day}", transaction_id=1000 + day)
    monkeypatch.setattr(selectors, "CHUNK_SIZE", 5)
    alive: weakref.WeakSet = weakref.WeakSet()

    def track(sender, instance, **kwargs):
        alive.add(instance)

    post_init.connect(track, sender=ChargingSession)
    try:
        most_alive = 0
        for _ in session_rows(session_history(world.org_a.pk, SessionFilters())):
            most_alive = max(most_alive, len(alive))
    finally:
        post_init.disconnect(track, sender=ChargingSession)
    assert most_alive <= 5  # of 32 sessions


def test_exports_are_visible_to_members_of_their_organization_only(world):
    mine = ReportExport.objects.create(organization=world.org_a)
    ReportExport.objects.create(organization=world.org_b)
    assert list(exports_visible_to(world.operator)) == [mine]
