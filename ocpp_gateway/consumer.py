"""The OCPP-J WebSocket consumer: one instance per charger connection.

It translates frames and lets the domain decide. Channels hands it one event at a time, so
frames of one connection are handled strictly in arrival order (R19) and it never awaits a
charger's reply in the receive path.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import partial

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError
from django.utils import timezone

from ocpp_gateway import fault_log, rpc, stats
from ocpp_gateway.connection import Connection
from ocpp_gateway.handshake import HandshakeRefused, admit
from ocpp_gateway.message_log import log_frame, start_message_log_writer
from ocpp_gateway.protocols import Handler, Protocol, protocol_for
from ocpp_gateway.rpc import Call, CallError, CallResult, ErrorKind, RpcError
from ocpp_gateway.seam import CONNECTIONS, LIVENESS, TRANSACTIONS, one_off
from ocpp_gateway.throttle import CallThrottle
from sites.commands import claim_next_command, settle_command
from sites.commands.outcomes import Outcome
from sites.models import RegistrationStatus
from sites.services import Connecting, Liveness, mark_disconnected

logger = logging.getLogger(__name__)

IN, OUT = "in", "out"
CLOSE_MESSAGE_TOO_BIG = 1009  # RFC 6455 sec. 7.4.1
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_POLICY_VIOLATION = 1008  # a sustained CALL flood (R21)
CLOSE_REPLACED = 4000  # application code: a newer connection of the same charger took over
CLOSE_BY_OPERATOR = 4001  # application code: an operator closed the connection (sites.services.disconnect_charger)
# How long a disconnect waits for the outbound-calls task to finish after cancelling it.
SENDER_STOP_SECONDS = 5.0


# A recently handled CALL: what a repeat must equal (its action and payload, as text) and the
# CALLRESULT frame sent (None while it is being handled). Plain strings in a plain tuple, which
# the garbage collector stops tracking at once: 32 of these per charger live for minutes, and
# as parsed payloads they were walked by the young collections and then by the full ones.
RecentCall = tuple[str, str | None]

# Recently handled CALLs per charger, process-wide so they survive a reconnect (R1).
_recent_calls: dict[str, OrderedDict[str, RecentCall]] = {}


def _request(call: Call) -> str:
    """The same action with an equal payload (keys in any order) gives the same text."""
    return f"{call.action} {rpc.canonical_json(call.payload)}"


def _frame_too_big(text: str, limit: int) -> bool:
    """The limit is in bytes (UTF-8, as on the wire); encode only when characters alone cannot tell."""
    return len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit)


TIMED_OUT_IDS_KEPT = 64
# In the outbox: "send the charger's queued commands, oldest first" (see _send_queued_commands).
QUEUED_COMMANDS = "queued commands"


@dataclass(slots=True)
class OutboundCall:
    """A CALL from the central system to this charger, waiting for its turn or its reply: a
    bare call (with a channel to report its outcome to) or a durable Command being sent."""

    action: str = ""
    payload: dict | None = None
    timeout: float = 0.0
    reply_to: str | None = None
    reference: str | None = None
    # What the message log shows when it differs from the payload (a masked secret).
    log_payload: dict | None = None


# What came of an outbound CALL (CallOutcome.status).
RESULT, ERROR, TIMEOUT = "result", "error", "timeout"  # sent: the charger's answer, or none in time
NOT_SENT, FAILED, DISCONNECTED = "not_sent", "failed", "disconnected"  # refused, failed on our side, closed
# The fields of the "ocpp.call.outcome" event, per status.
_EVENT_FIELDS = {
    RESULT: ("message_id", "payload"),
    ERROR: ("message_id", "error_code", "description", "details"),
    TIMEOUT: ("message_id",),
    NOT_SENT: ("reason",),
    FAILED: ("reason",),
    DISCONNECTED: (),
}


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What came of an outbound CALL: reported to the caller of a bare call (`ocpp_call`) as an
    "ocpp.call.outcome" event, or decoded by the codec into the Outcome a command settles with."""

    status: str
    message_id: str = ""
    payload: dict | None = None
    error_code: str = ""
    description: str = ""
    details: dict | None = None
    reason: str = ""

    def event(self) -> dict:
        return {"status": self.status, **{name: getattr(self, name) for name in _EVENT_FIELDS[self.status]}}

    def reply(self) -> rpc.Reply:
        """The charger's answer as the codec decodes it: the CALLRESULT payload, the CALLERROR,
        or None (no answer in time)."""
        if self.status == RESULT:
            return self.payload
        if self.status == ERROR:
            return rpc.CallErrorReply(self.error_code, self.description)
        return None


class OcppConsumer(AsyncWebsocketConsumer):
    """Outbound CALLs arrive as channel-layer events of type "ocpp.call" (see `ocpp_call`)
    and are sent by a separate task, one at a time (OCPP-J 1.6 sec. 4.1.1), so the receive
    path keeps answering the charger's own CALLs while one of ours waits (R18)."""

    conn: Connection | None = None
    # The entry of the version negotiated at the handshake (`protocols.REGISTRY`), set with
    # `conn`: whatever this class knows of a version, it asks this.
    protocol: Protocol
    _throttle = CallThrottle(0.0, 0, 0)  # no limit until connect() sets this connection's own
    _socket_counted = False  # counted in stats.sockets (accepted, not yet closed)

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch, without its `aclose_old_connections()` before every event: that
        is a hop to the database thread per frame, serialised across all connections. Our
        database calls go through `ocpp_gateway.seam`, whose threads drop stale connections
        around each call themselves."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except StopConsumer:
            raise
        except Exception as exc:  # a bug must not take the socket down, see _survive
            await self._survive(message["type"], exc)

    async def _survive(self, event_type: str, exc: Exception) -> None:
        """An exception escaping a handler is a bug (expected faults are handled where they
        occur). Escaping the application, it made the server drop the socket without a close
        frame, and `disconnect` never ran: the charger stayed online with a stale channel
        (issue 15). Instead: logged once with its traceback, and the frame answered (R27)."""
        if event_type == "websocket.disconnect":
            charge_point_id = self.conn.charge_point_id if self.conn else None
            fault_log.bug(logger, "consumer", charge_point_id, "disconnect failed", error=exc)
            raise StopConsumer from None  # what websocket_disconnect ends with, had it got there
        if isinstance(exc, OSError):
            # The server's ClientDisconnected: the socket went away while we answered. Not a
            # bug, and its websocket.disconnect event follows, which runs the bookkeeping.
            return
        if event_type == "websocket.receive" and self.conn is None:
            return  # a frame that crossed our refusal or close: nothing to answer it on
        charge_point_id = self.conn.charge_point_id if self.conn else None
        fault_log.bug(logger, "consumer", charge_point_id, "%s failed", event_type, error=exc)
        if event_type == "websocket.connect":
            await self.close()
        elif event_type == "websocket.receive":
            # The frame's id is not known here; "-1" as for an unreadable one (R20).
            with contextlib.suppress(OSError):
                await self._send_error(RpcError(ErrorKind.INTERNAL, "internal error"))

    # --- Handshake --------------------------------------------------------------------

    async def connect(self) -> None:
        charge_point_id = self.scope["url_route"]["kwargs"]["charge_point_id"]
        try:
            admission = await admit(self.scope, charge_point_id)
        except HandshakeRefused as refusal:
            logger.info("refused %r: %s", charge_point_id, refusal.reason)
            await self._refuse(refusal)
            return
        except DatabaseError as exc:
            fault_log.fault(logger, "database", charge_point_id, "handshake refused (503)", error=exc)
            await self._refuse(HandshakeRefused(503, "temporarily unavailable"))
            return
        if admission.subprotocol is None:
            # OCPP-J 1.6 sec. 3.2: no common subprotocol: complete the handshake without one,
            # then close at once. Never fall back to one that was not offered (S2).
            await self.accept()
            await self.close(code=CLOSE_PROTOCOL_ERROR)
            return
        self.conn = Connection(charge_point_id=charge_point_id, subprotocol=admission.subprotocol)
        self.protocol = protocol_for(self.conn.subprotocol)
        self._outbox: asyncio.Queue[OutboundCall | str] = asyncio.Queue()
        self._queued_commands_noticed = False
        self._awaiting: dict[str, asyncio.Future] = {}
        # Our CALLs awaiting their answer while the charger is not Accepted: what it accepts to
        # send in answer becomes a permit (`_note_permit`).
        self._asked_before_accepted: dict[str, OutboundCall] = {}
        self._timed_out: deque[str] = deque(maxlen=TIMED_OUT_IDS_KEPT)
        self._in_flight_command: int | None = None
        self._throttle = CallThrottle(settings.OCPP_CALLS_PER_SECOND, settings.OCPP_CALL_BURST,
                                      settings.OCPP_CALL_FLOOD_CLOSE_AFTER)  # fmt: skip
        charger = admission.charger
        if charger is not None:
            self.conn.charger_id = charger.id
            # A charger that reconnects without BootNotification keeps its stored state (R12).
            self.conn.registration_status = charger.registration_status
            try:
                # Before accepting, so that a database failure refuses the handshake cleanly.
                waiting_commands = await self._take_over_connection()
            except DatabaseError as exc:
                fault_log.fault(logger, "database", charge_point_id, "connection not recorded (503)", error=exc)
                self.conn = None
                await self._refuse(HandshakeRefused(503, "temporarily unavailable"))
                return
        await self.accept(subprotocol=admission.subprotocol)
        stats.socket_opened(self.conn.subprotocol)
        self._socket_counted = True
        start_message_log_writer()
        self._sender = asyncio.create_task(self._send_outbound_calls())
        if charger is not None and self._may_receive_commands() and waiting_commands:
            self._notice_queued_commands()

    async def _take_over_connection(self) -> list[int]:
        """Become the charger's connection; tell an older socket of the same charger to close
        (R15). Returns the commands waiting for it (R16), read in the same round."""
        now = timezone.now()
        assert self.conn is not None  # noqa: S101 (set by connect)
        assert self.conn.charger_id is not None  # noqa: S101 (called for a known charger only)
        self.conn.last_touch = now
        socket = Connecting(
            self.conn.charger_id, self.conn.connection_id, self.channel_name, now, self.protocol.ocpp_version
        )
        previous, waiting_commands = await CONNECTIONS.submit(socket)
        if previous:
            await self.channel_layer.send(previous, {"type": "ocpp.replaced"})
        return waiting_commands

    async def _refuse(self, refusal: HandshakeRefused) -> None:
        # asgiref types `extensions` as `dict | None`; in the ASGI spec it is a dict or absent.
        if "websocket.http.response" not in self.scope.get("extensions", {}):  # type: ignore[operator]
            await self.close()  # the server answers 403
            return
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        if refusal.status == 401:
            headers.append((b"www-authenticate", b'Basic realm="OCPP", charset="UTF-8"'))
        if refusal.retry_after:
            headers.append((b"retry-after", str(refusal.retry_after).encode()))
        await self.base_send({"type": "websocket.http.response.start", "status": refusal.status, "headers": headers})
        # asgiref requires `more_body`, which the ASGI spec makes optional (default False).
        await self.base_send({"type": "websocket.http.response.body", "body": refusal.reason.encode()})  # type: ignore[arg-type]

    async def ocpp_replaced(self, event: dict) -> None:
        logger.info("closing older connection of %s: replaced by a newer one", self.conn and self.conn.charge_point_id)
        await self.close(code=CLOSE_REPLACED)

    async def ocpp_disconnect(self, event: dict) -> None:
        """Channel-layer event from `sites.services.disconnect_charger`: close this socket (it
        is marked offline as on any close; the charger is expected to connect again)."""
        logger.info("closing connection of %s: %s", self.conn and self.conn.charge_point_id, event.get("reason", ""))
        await self.close(code=CLOSE_BY_OPERATOR)

    async def disconnect(self, code: int) -> None:
        if self.conn is None:
            return
        if self._socket_counted:
            self._socket_counted = False
            stats.socket_closed(self.conn.subprotocol)
        await self._stop_sender()
        for future in self._awaiting.values():
            future.cancel()
        if self.conn.charger_id is None:
            return
        if self._in_flight_command is not None:
            # Sent, but the answer will never come: the outcome is unknown, so it is not
            # resent automatically (a RemoteStart must not run twice).
            await self._settle(self._in_flight_command, Outcome.timed_out("connection closed"))
        try:
            # Conditional: a newer socket of the same charger keeps it online (R15).
            await TRANSACTIONS.submit(
                partial(
                    mark_disconnected,
                    charger_id=self.conn.charger_id,
                    connection_id=self.conn.connection_id,
                    at=timezone.now(),
                )
            )
        except Exception as exc:  # the rest of the close must still happen
            fault_log.failure(logger, "disconnect", self.conn.charge_point_id, "not marked offline", error=exc)

    async def _stop_sender(self) -> None:
        """Cancel the outbound-calls task and wait for it to end: a task cancelled but never
        awaited was destroyed pending with the consumer ("Task was destroyed but it is
        pending"), before it could report its call as disconnected."""
        sender = getattr(self, "_sender", None)
        if sender is None:  # the socket closed before it was accepted
            return
        sender.cancel()
        await asyncio.wait([sender], timeout=SENDER_STOP_SECONDS)

    # --- Frames -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self._throttle.allow() and await self._shed(text_data):
            return
        received_at = timezone.now()
        if text_data is None:
            assert bytes_data is not None  # noqa: S101 (a frame is text or bytes)
            self._log(IN, None, raw=repr(bytes_data[:256]), error_code="binary frame")
            await self._send_error(RpcError(ErrorKind.RPC_FRAMEWORK, "OCPP-J uses text frames only"))
            return
        if _frame_too_big(text_data, settings.OCPP_MAX_FRAME_BYTES):
            self._log(IN, None, raw=text_data[:256], error_code="frame too big")
            await self.close(code=CLOSE_MESSAGE_TOO_BIG)
            return
        try:
            frame = rpc.parse_frame(text_data)
        except RpcError as error:
            self._log(IN, None, raw=text_data, message_id=error.message_id)
            await self._send_error(error)
            return
        await self._touch(received_at)
        if isinstance(frame, Call):
            self._log(IN, rpc.CALL, message_id=frame.message_id, action=frame.action, payload=frame.payload)
            await self._handle_call(frame, received_at)
        else:
            await self._handle_reply(frame)

    async def _shed(self, text_data: str | None) -> bool:
        """A frame over the CALL rate (R21): a CALL (or garbage) is answered with GenericError,
        no work done; a sustained flood closes the socket. Answers to our own CALLs are not
        shed (returns False: handle it as usual)."""
        try:
            frame = rpc.parse_frame(text_data) if text_data is not None else None
        except RpcError:
            frame = None
        if isinstance(frame, CallResult | CallError):
            return False
        if isinstance(frame, Call):
            message_id, action = frame.message_id, frame.action
            self._log(IN, rpc.CALL, message_id=message_id, action=action, payload=frame.payload,
                      error_code="rate limited")  # fmt: skip
        else:
            message_id, action = rpc.UNREADABLE_MESSAGE_ID, ""
            self._log(IN, None, raw=(text_data or "<binary>")[:256], error_code="rate limited")
        if self._throttle.flooding():
            assert self.conn is not None  # noqa: S101 (set by connect)
            logger.warning("closing %s: CALL flood over the rate limit", self.conn.charge_point_id)
            await self.close(code=CLOSE_POLICY_VIOLATION)
            return True
        description = "rate limit exceeded: too many CALLs from this charger, retry later"
        await self._send_error(RpcError(ErrorKind.GENERIC, description, message_id), action=action)
        return True

    async def _handle_call(self, call: Call, received_at) -> None:
        assert self.conn is not None  # noqa: S101 (set by connect)
        recent = _recent_calls.setdefault(self.conn.charge_point_id, OrderedDict())
        request = _request(call)
        seen = recent.get(call.message_id)
        if seen is not None:
            await self._answer_repeat(call, seen, request)
            return
        try:
            handler = self._handler_for(call)
        except RpcError as error:
            await self._send_error(error, action=call.action)
            return
        recent[call.message_id] = (request, None)
        while len(recent) > settings.OCPP_DUPLICATE_WINDOW:
            recent.popitem(last=False)
        was_accepted = self.conn.accepted
        started = time.perf_counter()
        try:
            response = await handler(self.conn, call.payload, received_at)
        except Exception as exc:  # every failure is answered; none takes the connection down
            recent.pop(call.message_id, None)
            await self._send_error(self._handler_failure(exc, call), action=call.action)
            return
        if not was_accepted:
            self._after_call_before_accepted(call)
        frame = rpc.call_result_frame(call.message_id, response)
        if call.message_id in recent:  # not pushed out of the window meanwhile
            recent[call.message_id] = (request, frame)
        self._log(OUT, rpc.CALLRESULT, message_id=call.message_id, action=call.action, payload=response)
        await self.send(text_data=frame)
        stats.time_call(self.conn.subprotocol, call.action, time.perf_counter() - started)
        if call.action == self.protocol.boot_action and self._may_receive_commands() and not was_accepted:
            # Commands held while it was not accepted (R14, R16), or those a Pending charger may
            # get (2.0.1 B02.FR.01); an accepted charger got its queue when it connected, and new
            # commands by their notifications.
            self._notice_queued_commands()

    def _after_call_before_accepted(self, call: Call) -> None:
        """A CALL handled while the charger was not Accepted: what we asked for is used up as it
        arrives (B02.FR.09: the station may send "a message triggered by" our request, not that
        action at will from then on); a boot that made it Accepted voids what is left, so that
        nothing asked for before reopens a later Pending."""
        conn = self.conn
        assert conn is not None  # noqa: S101 (set by connect)
        if call.action != self.protocol.boot_action:
            conn.sent(call.action, call.payload)
        elif conn.accepted:
            conn.permits.clear()

    def _handler_failure(self, exc: Exception, call: Call) -> RpcError:
        """Data that can never be stored is not InternalError, which would make the charger
        retry it forever (R8); an outage is, so that the charger retries later (R9). Both are
        expected faults (one line); anything else is a bug (its traceback)."""
        assert self.conn is not None  # noqa: S101 (set by connect)
        fault_log.failure(logger, f"handler {call.action}", self.conn.charge_point_id, "%s failed", call.action,
                          error=exc)  # fmt: skip
        if isinstance(exc, DataError | IntegrityError):
            return RpcError(ErrorKind.PROPERTY_CONSTRAINT, "the central system cannot store this data", call.message_id)
        if isinstance(exc, DatabaseError):
            description = "the central system could not store this message; retry"
            return RpcError(ErrorKind.INTERNAL, description, call.message_id)
        return RpcError(ErrorKind.INTERNAL, "internal error", call.message_id)

    async def _answer_repeat(self, call: Call, seen: RecentCall, request: str) -> None:
        """A CALL whose message id we have seen (OCPP-J errata 3.1, R1): the same CALL is
        answered with the same result and no second effect; anything else is an error."""
        seen_request, sent = seen
        if seen_request != request:
            description = "this message id was already used for a different CALL"
        elif sent is None:
            description = "a CALL with this message id is still being handled"
        else:
            self._log(OUT, rpc.CALLRESULT, message_id=call.message_id, action=call.action, payload=json.loads(sent)[2])
            await self.send(text_data=sent)
            return
        await self._send_error(RpcError(ErrorKind.PROTOCOL, description, call.message_id), action=call.action)

    def _handler_for(self, call: Call) -> Handler:
        protocol = self.protocol
        handler = protocol.handlers.get(call.action)
        if handler is None:
            raise self._no_handler(call)
        protocol.schemas.validate_call(call.action, call.payload, call.message_id)
        conn = self.conn
        assert conn is not None  # noqa: S101 (set by connect)
        if not conn.accepted and call.action != protocol.boot_action and not conn.may_send(call.action, call.payload):
            # 1.6 errata 3.10 / ACCEPTANCE S8, 2.0.1 B02.FR.09 / B03.FR.07: nothing but the boot
            # notification before Accepted, and what we asked for on this connection.
            raise RpcError(ErrorKind.SECURITY, "not accepted by the central system yet", call.message_id)
        return handler

    def _no_handler(self, call: Call) -> RpcError:
        """OCPP-J 1.6 sec. 4.2.3: NotSupported for an action recognised but not handled in this
        direction, NotImplemented for one the version does not know."""
        if call.action in self.protocol.csms_initiated:
            return RpcError(ErrorKind.NOT_SUPPORTED, f"{call.action} is sent by the central system", call.message_id)
        if call.action in self.protocol.charger_initiated:
            return RpcError(ErrorKind.NOT_SUPPORTED, f"{call.action} is not supported", call.message_id)
        return RpcError(ErrorKind.NOT_IMPLEMENTED, f"unknown action {call.action}", call.message_id)

    async def _handle_reply(self, frame: CallResult | CallError) -> None:
        if isinstance(frame, CallResult):
            message_type, payload, error_code = rpc.CALLRESULT, frame.payload, ""
        else:
            message_type, payload, error_code = rpc.CALLERROR, frame.details, frame.error_code
        future = self._awaiting.get(frame.message_id)
        if future is not None and not future.done():
            self._log(IN, message_type, message_id=frame.message_id, payload=payload, error_code=error_code)
            asked = self._asked_before_accepted.pop(frame.message_id, None)
            if asked is not None and isinstance(frame, CallResult):
                # Here, before the next frame is read: the station sends what it was asked for
                # right after this answer (F06.FR.04), maybe before the sender task resumes.
                self._note_permit(asked, frame.payload)
            future.set_result(frame)
            return
        if frame.message_id in self._timed_out:
            # A reply after our timeout: logged, never matched to a later call (R17).
            self._log(IN, message_type, message_id=frame.message_id, payload=payload, error_code="late reply")
            return
        self._log(IN, message_type, message_id=frame.message_id, payload=payload, error_code=error_code)
        # The central system has no CALL outstanding with this id (R20).
        await self._send_error(
            RpcError(ErrorKind.PROTOCOL, "no CALL is outstanding with this message id", frame.message_id)
        )

    # --- Outbound CALLs ---------------------------------------------------------------

    async def ocpp_call(self, event: dict) -> None:
        """Channel-layer event: {"type": "ocpp.call", "action", "payload", optional "timeout"
        (s), "reply_to" (a channel to receive an "ocpp.call.outcome" event) and "reference"
        (echoed back, e.g. a command id)}. Queued; never awaited here."""
        self._outbox.put_nowait(
            OutboundCall(
                action=event["action"],
                payload=event.get("payload") or {},
                timeout=float(event.get("timeout") or settings.OCPP_CALL_TIMEOUT),
                reply_to=event.get("reply_to"),
                reference=event.get("reference"),
            )
        )

    async def ocpp_command(self, event: dict) -> None:
        """Channel-layer event from `sites.commands.notify_gateway`: the charger's queue has a
        command. Which one is sent next is the queue's business (oldest first), not the event's,
        so a lost notification never lets a newer command overtake an older one (R16, R26)."""
        self._notice_queued_commands()

    def _notice_queued_commands(self) -> None:
        """Have the sender read the command queue; once is enough while it has not yet started."""
        if not self._queued_commands_noticed:
            self._queued_commands_noticed = True
            self._outbox.put_nowait(QUEUED_COMMANDS)

    async def _send_outbound_calls(self) -> None:
        while True:
            call = await self._outbox.get()
            if isinstance(call, str):  # QUEUED_COMMANDS, the only text put in the outbox
                # Cleared before reading: a command requested meanwhile gets a read of its own.
                self._queued_commands_noticed = False
                try:
                    await self._send_queued_commands()
                except Exception as exc:  # the task must live on for the next call
                    await self._command_queue_failure(exc)
                continue
            try:
                outcome = await self._perform(call)
            except asyncio.CancelledError:
                await self._report(call, CallOutcome(DISCONNECTED))
                raise
            except Exception as exc:  # the task must live on for the next call
                outcome = await self._outbound_failure(call.action, exc)
            await self._report(call, outcome)

    async def _command_queue_failure(self, exc: Exception) -> None:
        """Sending the queued commands failed on our side: the command in flight, if any, is
        settled; the rest stay queued for the next notification or the dispatcher."""
        await self._outbound_failure("command", exc)

    async def _outbound_failure(self, action: str, exc: Exception) -> CallOutcome:
        """An outbound CALL that failed on our side (the socket gone, the database down, a bug)."""
        if not isinstance(exc, OSError):  # OSError: the server's ClientDisconnected
            assert self.conn is not None  # noqa: S101 (set by connect)
            fault_log.failure(logger, "outbound call", self.conn.charge_point_id, "%s failed", action or "command",
                              error=exc)  # fmt: skip
        command_id, self._in_flight_command = self._in_flight_command, None
        if command_id is not None:
            # Maybe sent: the outcome is unknown, as when the connection closes (no resend).
            await self._settle(command_id, Outcome.timed_out("failed in the central system"))
        return CallOutcome(FAILED, reason=fault_log.describe(exc))

    async def _send_queued_commands(self) -> None:
        """Send the charger's queued commands one at a time, oldest first, until none is left
        that may be sent now (R16). The codec of the connection's version turns each intent into
        its CALL when it is claimed, and the charger's answer into the Outcome it is settled with."""
        codec = self.protocol.codec
        if codec is None:  # a version without commands yet: they wait in the queue
            return
        assert self.conn is not None  # noqa: S101 (set by connect)
        while self._may_receive_commands():
            assert self.conn.charger_id is not None  # noqa: S101 (registered)
            message_id = str(uuid.uuid4())
            # While Pending only what the version allows then (1.6 sec. 4.2, 2.0.1 B02.FR.01);
            # the rest waits, in order, for Accepted.
            only = None if self.conn.accepted else self.protocol.allowed_while_pending
            try:
                claimed = await one_off(
                    claim_next_command,
                    charger_id=self.conn.charger_id,
                    message_id=message_id,
                    at=timezone.now(),
                    encode=codec.encode,
                    only_actions=only,
                )
            except DatabaseError as exc:
                # They stay queued: the dispatcher notifies again once they have waited a while.
                fault_log.fault(logger, "database", self.conn.charge_point_id, "command queue not read", error=exc)
                return
            if claimed is None:
                return
            call = OutboundCall(
                action=claimed.action,
                payload=claimed.payload,
                log_payload=claimed.log_payload,
                timeout=settings.OCPP_CALL_TIMEOUT,
            )
            self._in_flight_command = claimed.id
            exchanged = await self._exchange(message_id, call)
            self._in_flight_command = None
            await self._settle(claimed.id, codec.decode(claimed.intent, exchanged.reply()), exchanged.payload)

    async def _perform(self, call: OutboundCall) -> CallOutcome:
        refusal = self._outbound_refusal(call.action)
        if refusal:
            return CallOutcome(NOT_SENT, reason=refusal)
        return await self._exchange(str(uuid.uuid4()), call)

    async def _settle(self, command_id: int, outcome: Outcome, result: dict | None = None) -> None:
        try:
            await one_off(settle_command, command_id=command_id, at=timezone.now(), outcome=outcome, result=result)
        except Exception as exc:  # a close must go on to mark the charger offline
            assert self.conn is not None  # noqa: S101 (set by connect)
            fault_log.failure(logger, "command outcome", self.conn.charge_point_id, "command %s not settled",
                              command_id, error=exc)  # fmt: skip

    async def _exchange(self, message_id: str, call: OutboundCall) -> CallOutcome:
        """Send one CALL and wait for its answer or the timeout."""
        assert call.payload is not None  # noqa: S101 (every OutboundCall is made with one)
        future = self._awaiting[message_id] = asyncio.get_running_loop().create_future()
        assert self.conn is not None  # noqa: S101 (set by connect)
        if not self.conn.accepted:
            self._asked_before_accepted[message_id] = call
        logged = call.log_payload if call.log_payload is not None else call.payload
        self._log(OUT, rpc.CALL, message_id=message_id, action=call.action, payload=logged)
        try:
            await self.send(text_data=rpc.call_frame(message_id, call.action, call.payload))
            reply = await asyncio.wait_for(future, call.timeout)
        except TimeoutError:
            self._timed_out.append(message_id)
            return CallOutcome(TIMEOUT, message_id=message_id)
        finally:
            self._awaiting.pop(message_id, None)
            self._asked_before_accepted.pop(message_id, None)
        if isinstance(reply, CallResult):
            return CallOutcome(RESULT, message_id=message_id, payload=reply.payload)
        return CallOutcome(
            ERROR,
            message_id=message_id,
            error_code=reply.error_code,
            description=reply.description,
            details=reply.details,
        )

    def _note_permit(self, call: OutboundCall, reply: object) -> None:
        """A not-yet-Accepted charger that accepted to send what we asked for may send it (1.6
        sec. 4.2, 2.0.1 B02.FR.09): the version's rules say what and how often (`Permit`). A
        Rejected answer permits nothing: then it sends nothing."""
        conn = self.conn
        assert conn is not None  # noqa: S101 (set by connect)
        if conn.accepted or call.payload is None or not isinstance(reply, dict):
            return
        permitted = self.protocol.permit(call.action, call.payload, reply)
        if permitted is not None:
            conn.grant(*permitted)

    def _may_receive_commands(self) -> bool:
        """Accepted, or Pending (a registered charger the operator holds to configure it)."""
        conn = self.conn
        assert conn is not None  # noqa: S101 (set by connect)
        return conn.charger_id is not None and conn.registration_status in (
            RegistrationStatus.ACCEPTED,
            RegistrationStatus.PENDING,
        )

    def _outbound_refusal(self, action: str) -> str:
        assert self.conn is not None  # noqa: S101 (set by connect)
        status = self.conn.registration_status
        if self.conn.charger_id is None or status == RegistrationStatus.REJECTED:
            # 1.6 sec. 4.2: while Rejected the central system sends nothing (R14).
            return "the charger is not registered"
        if status == RegistrationStatus.PENDING and action not in self.protocol.allowed_while_pending:
            return f"{action} may not be sent while the charger is Pending"
        return ""

    async def _report(self, call: OutboundCall, outcome: CallOutcome) -> None:
        if call.reply_to:
            await self.channel_layer.send(
                call.reply_to,
                {"type": "ocpp.call.outcome", "reference": call.reference, "action": call.action, **outcome.event()},
            )

    # --- Helpers ----------------------------------------------------------------------

    async def _touch(self, received_at) -> None:
        """Refresh last-seen at most every OCPP_TOUCH_INTERVAL seconds, not on every frame."""
        conn = self.conn
        assert conn is not None  # noqa: S101 (set by connect)
        if conn.charger_id is None:
            return
        if conn.last_touch and (received_at - conn.last_touch).total_seconds() < settings.OCPP_TOUCH_INTERVAL:
            return
        conn.last_touch = received_at
        LIVENESS.submit_nowait(Liveness(conn.charger_id, conn.connection_id, received_at))

    async def _send_error(self, error: RpcError, action: str = "") -> None:
        code = self.protocol.error_codes[error.kind]
        # Not a fault of ours: for the operator at INFO, one line per charger and interval.
        assert self.conn is not None  # noqa: S101 (set by connect)
        fault_log.fault(logger, "answered CALLERROR", self.conn.charge_point_id, "%s %s", code, error.description,
                        level=logging.INFO)  # fmt: skip
        self._log(OUT, rpc.CALLERROR, message_id=error.message_id, action=action, error_code=code,
                  error_description=error.description)  # fmt: skip
        await self.send(text_data=rpc.call_error_frame(error.message_id, code, error.description))

    def _log(self, direction: str, message_type: int | None, **fields) -> None:
        assert self.conn is not None  # noqa: S101 (set by connect)
        stats.count_frame(self.conn.subprotocol, direction, message_type, fields.get("action", ""),
                          fields.get("error_code", ""))  # fmt: skip
        log_frame(
            charge_point_id=self.conn.charge_point_id,
            connection_id=self.conn.connection_id,
            direction=direction,
            message_type=message_type,
            **fields,
        )
