"""The baseline: a central system built the way the seed projects are, so that every figure
of ours comes with one measured in the same run on the same machine.

A plain `websockets` server, the `ocpp` library's ChargePoint with `@on(...)` handlers (its
default jsonschema validation included), and one synchronous database write per message (an
INSERT or UPDATE, then commit) into three tables of its own. No authentication, no message
log beyond the one table, no write-behind. SQLite gets the same WAL + synchronous=NORMAL as our
server, so the comparison is about the architecture, not about fsync.

    python -m bench.baseline_server --port 9000 --database-url sqlite:////tmp/baseline.sqlite3
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
import sys

import psycopg
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bench.chargers import raise_open_file_limit

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS baseline_message (id {pk}, charge_point_id TEXT NOT NULL,"
    " action TEXT NOT NULL, payload TEXT NOT NULL, received_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS baseline_session (id {pk}, charge_point_id TEXT NOT NULL,"
    " connector_id INTEGER NOT NULL, id_tag TEXT NOT NULL, meter_start BIGINT NOT NULL,"
    " started_at TEXT NOT NULL, meter_stop BIGINT, stopped_at TEXT)",
    "CREATE TABLE IF NOT EXISTS baseline_meter_value (id {pk}, charge_point_id TEXT NOT NULL,"
    " connector_id INTEGER NOT NULL, transaction_id INTEGER, value TEXT NOT NULL, timestamp TEXT NOT NULL)",
)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class Store:
    """One connection, used synchronously from the event loop, as seed projects do."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.connection = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            pk = "INTEGER PRIMARY KEY"
        else:
            self.connection = psycopg.connect(url)
            pk = "BIGSERIAL PRIMARY KEY"
        for statement in SCHEMA:
            self.connection.execute(statement.format(pk=pk))
        self.connection.commit()

    def write(self, sql: str, params: tuple) -> int | None:
        """One statement and its commit; returns the new row's id for an INSERT."""
        if self.sqlite:
            cursor = self.connection.execute(sql.replace("%s", "?"), params)
            row_id = cursor.lastrowid
        else:
            if sql.startswith("INSERT"):
                sql += " RETURNING id"
            cursor = self.connection.execute(sql, params)
            row_id = cursor.fetchone()[0] if sql.startswith("INSERT") else None
        self.connection.commit()
        return row_id

    def write_many(self, sql: str, rows: list[tuple]) -> None:
        """One statement for all the rows of a message, and its commit."""
        if self.sqlite:
            self.connection.executemany(sql.replace("%s", "?"), rows)
        else:
            with self.connection.cursor() as cursor:
                cursor.executemany(sql, rows)
        self.connection.commit()

    def log(self, charge_point_id: str, action: str, payload: dict) -> None:
        self.write(
            "INSERT INTO baseline_message (charge_point_id, action, payload, received_at) VALUES (%s, %s, %s, %s)",
            (charge_point_id, action, json.dumps(payload), now()),
        )


class BaselineChargePoint(ChargePoint):
    def __init__(self, charge_point_id: str, connection: ServerConnection, store: Store) -> None:
        super().__init__(charge_point_id, connection)
        self.store = store

    @on(Action.boot_notification)
    def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str, **kwargs):
        self.store.log(self.id, "BootNotification", {"vendor": charge_point_vendor, "model": charge_point_model})
        return call_result.BootNotification(current_time=now(), interval=300, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self):
        self.store.log(self.id, "Heartbeat", {})
        return call_result.Heartbeat(current_time=now())

    @on(Action.status_notification)
    def on_status_notification(self, connector_id: int, error_code: str, status: str, **kwargs):
        self.store.log(self.id, "StatusNotification", {"connector": connector_id, "status": status})
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str):
        self.store.log(self.id, "Authorize", {"idTag": id_tag})
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.start_transaction)
    def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs):
        transaction_id = self.store.write(
            "INSERT INTO baseline_session (charge_point_id, connector_id, id_tag, meter_start, started_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (self.id, connector_id, id_tag, meter_start, timestamp),
        )
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": AuthorizationStatus.accepted}
        )

    @on(Action.meter_values)
    def on_meter_values(self, connector_id: int, meter_value: list, transaction_id: int | None = None, **kwargs):
        rows = [
            (self.id, connector_id, transaction_id, sampled["value"], item["timestamp"])
            for item in meter_value
            for sampled in item["sampled_value"]
        ]
        self.store.write_many(
            "INSERT INTO baseline_meter_value (charge_point_id, connector_id, transaction_id, value, timestamp)"
            " VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop_transaction(self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs):
        self.store.write(
            "UPDATE baseline_session SET meter_stop = %s, stopped_at = %s WHERE id = %s",
            (meter_stop, timestamp, transaction_id),
        )
        return call_result.StopTransaction(id_tag_info={"status": AuthorizationStatus.accepted})


async def serve_forever(port: int, database_url: str) -> None:
    store = Store(database_url)

    async def handler(connection: ServerConnection) -> None:
        charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        with contextlib.suppress(ConnectionClosed):
            await BaselineChargePoint(charge_point_id, connection, store).start()

    async with serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"]) as server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args(argv)
    raise_open_file_limit()
    asyncio.run(serve_forever(args.port, args.database_url))


if __name__ == "__main__":
    main(sys.argv[1:])
