"""DataTransfer (1.6 sec. 4.3): vendor-specific messages go to the handler registered for
the vendorId; any other vendor gets UnknownVendorId."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DataTransferReply:
    status: str  # Accepted, Rejected, UnknownMessageId or UnknownVendorId
    data: str | None = None


# A handler runs in a worker thread (it may use the ORM) and receives the charger's
# database id, the messageId and the data exactly as sent.
VendorHandler = Callable[[int, str | None, str | None], DataTransferReply]

_handlers: dict[str, VendorHandler] = {}


def register_vendor(vendor_id: str) -> Callable[[VendorHandler], VendorHandler]:
    def decorator(handler: VendorHandler) -> VendorHandler:
        _handlers[vendor_id] = handler
        return handler

    return decorator


def unregister_vendor(vendor_id: str) -> None:
    _handlers.pop(vendor_id, None)


def handle_data_transfer(
    charger_id: int, vendor_id: str, message_id: str | None, data: str | None
) -> DataTransferReply:
    handler = _handlers.get(vendor_id)
    if handler is None:
        return DataTransferReply("UnknownVendorId")
    return handler(charger_id, message_id, data)
