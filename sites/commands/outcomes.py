"""How a command ended, in neutral words: the gateway's codec decodes the charger's answer
(or its absence) into an `Outcome`, and the domain acts on that (configuration snapshot,
reservation state, local-list version, key rotation), never on a wire payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class OutcomeStatus(StrEnum):
    ACCEPTED = "accepted"  # done as asked (also "scheduled" or "reboot required": see detail)
    REJECTED = "rejected"  # the charger refused; `detail` says how (e.g. "Occupied")
    FAILED = "failed"  # a CALLERROR, or an answer that could not be understood
    NOT_SUPPORTED = "not_supported"  # the charger or its version does not know the operation
    TIMED_OUT = "timed_out"  # no answer in time


@dataclass(frozen=True, kw_only=True, slots=True)
class SettingValue:
    """One setting as the charger reported it (configuration key or device-model variable)."""

    key: str
    value: str = ""
    readonly: bool = False
    component: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    status: OutcomeStatus
    # The charger's own word for its answer ("Unlocked", "RebootRequired", "Occupied") or the
    # CALLERROR code, for people; the domain decides on `status` and the typed data below.
    detail: str = ""
    # The CALLERROR code when the charger answered with one (kept on the Command row).
    error_code: str = ""
    error_description: str = ""
    # What reading operations return, neutral: settings read, local list version, schedule...
    settings: tuple[SettingValue, ...] = ()
    unknown_keys: tuple[str, ...] = ()
    local_list_version: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def timed_out(cls, description: str = "") -> Outcome:
        return cls(status=OutcomeStatus.TIMED_OUT, error_description=description)

    @property
    def accepted(self) -> bool:
        return self.status is OutcomeStatus.ACCEPTED
