import datetime as dt
from zoneinfo import ZoneInfo

from django.template import Context, Template

from common.times import TEMPLATE_FORMAT, format_day, format_local, local_time_column, zone_named

WINTER = dt.datetime(2026, 12, 5, 13, 3, 7, 123456, tzinfo=dt.UTC)
SUMMER = dt.datetime(2026, 7, 1, 10, 0, 7, tzinfo=dt.UTC)


def test_a_moment_in_the_named_zone_to_the_second_without_microseconds():
    assert format_local(WINTER, "Europe/Paris") == "5 Dec 2026, 14:03:07 CET"
    assert format_local(SUMMER, ZoneInfo("Europe/Paris")) == "1 Jul 2026, 12:00:07 CEST"


def test_minutes_only_when_asked():
    assert format_local(WINTER, "Europe/Paris", seconds=False) == "5 Dec 2026, 14:03 CET"


def test_utc_when_no_zone_or_an_unknown_one_and_nothing_for_none():
    assert format_local(WINTER) == "5 Dec 2026, 13:03:07 UTC"
    assert format_local(WINTER, "Not/AZone") == "5 Dec 2026, 13:03:07 UTC"
    assert format_local(None, "Europe/Paris") == ""
    assert zone_named("") is dt.UTC


def test_a_naive_moment_is_utc():
    assert format_local(WINTER.replace(tzinfo=None), "Europe/Paris") == "5 Dec 2026, 14:03:07 CET"


def test_a_day():
    assert format_day(dt.date(2026, 12, 1)) == "1 Dec 2026"
    assert format_day(None) == ""


def test_the_template_format_gives_the_same_text():
    template = Template('{% load tz %}{{ moment|timezone:"Europe/Paris"|date:fmt }}')
    assert template.render(Context({"moment": WINTER, "fmt": TEMPLATE_FORMAT})) == format_local(WINTER, "Europe/Paris")


def test_an_admin_column_reads_the_zone_along_a_path_and_utc_without_one():
    from types import SimpleNamespace

    column = local_time_column("at", "At")
    row = SimpleNamespace(at=WINTER, charger=SimpleNamespace(site=SimpleNamespace(timezone="Europe/Paris")))
    assert column(None, row) == "5 Dec 2026, 14:03:07 CET"
    assert column(None, SimpleNamespace(at=WINTER, charger=None)) == "5 Dec 2026, 13:03:07 UTC"
    assert column(None, SimpleNamespace(at=None, charger=None)) == "-"
    assert column.short_description == "At"
    assert column.admin_order_field == "at"
    minutes = local_time_column("at", "At", zone_path="site.timezone", seconds=False)
    assert (
        minutes(None, SimpleNamespace(at=WINTER, site=SimpleNamespace(timezone="Europe/Paris")))
        == "5 Dec 2026, 14:03 CET"
    )
