"""The batch helpers of common.db, on SQLite and on PostgreSQL (CI runs both)."""

import datetime as dt
import uuid

import pytest
from django.db import DataError, connection, transaction

from common.db import insert_values, update_rows
from ocpp_gateway.message_log import ROW_FIELDS
from ocpp_gateway.models import MessageLog
from sites.models import Charger
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_update_rows_saves_the_given_fields_of_each_row():
    first, second = ChargerFactory(vendor="Acme"), ChargerFactory(vendor="Acme")
    first.status, first.status_timestamp, first.vendor = "Charging", T0, "not saved"
    second.status, second.status_timestamp = "Faulted", None
    update_rows([first, second], ["status", "status_timestamp"])
    assert list(Charger.objects.order_by("pk").values_list("status", "status_timestamp", "vendor")) == [
        ("Charging", T0, "Acme"),
        ("Faulted", None, "Acme"),
    ]


def test_update_rows_given_a_row_twice_keeps_its_last_values():
    charger = ChargerFactory()
    earlier, later = Charger.objects.get(pk=charger.pk), Charger.objects.get(pk=charger.pk)
    earlier.status, later.status = "Charging", "Finishing"
    update_rows([earlier, later], ["status"])
    assert Charger.objects.get(pk=charger.pk).status == "Finishing"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce a varchar's length")
def test_update_rows_refuses_a_value_too_long_for_its_column_instead_of_cutting_it():
    charger = ChargerFactory()
    charger.status = "x" * 17  # varchar(16)
    with pytest.raises(DataError), transaction.atomic():
        update_rows([charger], ["status"])


def test_insert_values_stores_tuples_with_their_json():
    connection_id = uuid.uuid4()
    rows = [
        ("CP-1", connection_id, "in", 2, "m-1", "Heartbeat", {"a": [1, "é"]}, "", "", "", T0),
        ("CP-1", None, "out", None, "", "", None, "[2, broken", "", "bad frame", T0),
    ]
    insert_values(MessageLog, ROW_FIELDS, rows)
    stored = list(MessageLog.objects.order_by("pk").values_list(*ROW_FIELDS))
    assert stored == rows


def test_insert_values_writes_json_text_as_it_is():
    rows = [
        ("CP-1", None, "in", 2, "m-1", "Heartbeat", '{"a":[1,"é"],"big":1180591620717411303424}', "", "", "", T0),
        ("CP-1", None, "in", 2, "m-2", "Heartbeat", None, "", "", "", T0),
    ]
    insert_values(MessageLog, ROW_FIELDS, rows, json_text={"payload"})
    stored = list(MessageLog.objects.order_by("pk").values_list("payload", flat=True))
    assert stored == [{"a": [1, "é"], "big": 2**70}, None]
