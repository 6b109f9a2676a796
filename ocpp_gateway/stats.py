"""The gateway's own counts, kept where they happen at the cost of a dict increment or a deque
append (the hot path: every frame passes here), and read by whoever exports them
(integrations.metrics, every few seconds, off the event loop).

- `frames`: frames in and out by (version, direction, message type, action), and CALLERRORs by
  (version, direction, code); cumulative, never reset: a reader copies the dict (one C-level
  operation, atomic under the GIL) and takes differences.
- `sockets`: chargers' sockets open in this process, by version (up at accept, down at close:
  not per frame).
- `call_durations` and `commit_rounds`: observations waiting to be taken (bounded deques: appends
  and pops are thread-safe; with nobody taking them the oldest are dropped)."""

from collections import Counter, deque

MESSAGE_TYPES = {2: "call", 3: "callresult", 4: "callerror"}
PENDING_LIMIT = 100_000

frames: Counter[tuple[str, str, str, str]] = Counter()
call_errors: Counter[tuple[str, str, str]] = Counter()
sockets: Counter[str] = Counter()
# (version, action, seconds): a charger's CALL handled, from its arrival to our answer.
call_durations: deque[tuple[str, str, float]] = deque(maxlen=PENDING_LIMIT)
# (items, seconds): a group-commit round written.
commit_rounds: deque[tuple[int, float]] = deque(maxlen=PENDING_LIMIT)


def count_frame(version: str, direction: str, message_type: int | None, action: str, error_code: str) -> None:
    kind = MESSAGE_TYPES.get(message_type or 0, "unreadable")
    frames[(version, direction, kind, action)] += 1
    if message_type == 4:
        call_errors[(version, direction, error_code)] += 1


def socket_opened(version: str) -> None:
    sockets[version] += 1


def socket_closed(version: str) -> None:
    sockets[version] -= 1


def time_call(version: str, action: str, seconds: float) -> None:
    call_durations.append((version, action, seconds))


def note_round(items: int, seconds: float) -> None:
    commit_rounds.append((items, seconds))


def take(pending: deque) -> list:
    """What waits in `pending`, removed from it."""
    taken = []
    while True:
        try:
            taken.append(pending.popleft())
        except IndexError:
            return taken
