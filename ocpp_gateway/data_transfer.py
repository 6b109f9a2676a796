"""DataTransfer (1.6 sec. 4.3; 2.0.1 P01/P02): vendor-specific messages go to the handler
registered for the vendorId; any other vendor gets UnknownVendorId. In 1.6 `data` is a string,
in 2.0.1 any JSON value (DataTransferRequest.data has no type), in both directions."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DataTransferReply:
    status: str  # Accepted, Rejected, UnknownMessageId or UnknownVendorId
    data: Any = None  # 1.6: a string; 2.0.1: any JSON value


# A handler runs in a worker thread (it may use the ORM) and receives the charger's
# database id, the messageId and the data exactly as sent (1.6: a string; 2.0.1: any JSON).
VendorHandler = Callable[[int, str | None, Any], DataTransferReply]

_handlers: dict[str, VendorHandler] = {}


def register_vendor(vendor_id: str) -> Callable[[VendorHandler], VendorHandler]:
    def decorator(handler: VendorHandler) -> VendorHandler:
        _handlers[vendor_id] = handler
        return handler

    return decorator


def unregister_vendor(vendor_id: str) -> None:
    _handlers.pop(vendor_id, None)


def handle_data_transfer(charger_id: int, vendor_id: str, message_id: str | None, data: Any) -> DataTransferReply:
    handler = _handlers.get(vendor_id)
    if handler is None:
        return DataTransferReply("UnknownVendorId")
    return handler(charger_id, message_id, data)
