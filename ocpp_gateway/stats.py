"""The gateway's own counts, kept where they happen at the cost of a dict increment or a deque
append (the hot path: every frame passes here), and read by whoever exports them
(integrations.metrics, every few seconds, off the event loop).

- `frames`: frames in and out by (version, direction, message type, action), and CALLERRORs by
  (version, direction, code); cumulative, never reset: a reader copies the dict (one C-level
  operation, atomic under the GIL) and takes differences.
- `sockets`: chargers' sockets open in this process, by version (up at accept, down at close:
  not per frame).
- `call_buckets` and `call_seconds`: a histogram of the CALLs' handling times by (version, action),
  as cumulative counts per bucket (the first bound not below the time, as prometheus-client's
  Histogram counts them) and the sum: a fixed few entries per action, however many CALLs.
- `commit_rounds`: group-commit rounds waiting to be taken (a bounded deque: appends and pops are
  thread-safe; with nobody taking them the oldest are dropped; a few hundred a second at most)."""

import bisect
import math
from collections import Counter, defaultdict, deque

MESSAGE_TYPES = {2: "call", 3: "callresult", 4: "callerror"}
PENDING_LIMIT = 10_000
# Upper bounds (s) of the CALL duration buckets; the last catches everything slower.
CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, math.inf)

frames: Counter[tuple[str, str, str, str]] = Counter()
call_errors: Counter[tuple[str, str, str]] = Counter()
sockets: Counter[str] = Counter()
# A charger's CALL handled, from its arrival to our answer: (version, action, bucket) -> count,
# and (version, action) -> seconds in all.
call_buckets: Counter[tuple[str, str, int]] = Counter()
call_seconds: defaultdict[tuple[str, str], float] = defaultdict(float)
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
    call_buckets[(version, action, bisect.bisect_left(CALL_BUCKETS, seconds))] += 1
    call_seconds[(version, action)] += seconds


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
