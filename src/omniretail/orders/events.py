from dataclasses import dataclass
from typing import ClassVar

from omniretail.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class SaleCompleted(DomainEvent):
    """A carry-out sale is paid and the goods left with the customer."""

    name: ClassVar[str] = "sale.completed"
    order_id: int
    channel_id: int
    store_id: int | None
    terminal_id: int | None
    total_gross: str
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    """An order came in from a channel (web, marketplace, phone)."""

    name: ClassVar[str] = "order.placed"
    order_id: int
    channel_id: int
    external_id: str
    total_gross: str
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderStatusChanged(DomainEvent):
    name: ClassVar[str] = "order.status_changed"
    order_id: int
    channel_id: int
    old_status: str
    new_status: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RefundRequested(DomainEvent):
    """Money must go back to the customer (a cancellation after payment, a
    return). Payments carries it out on the original tenders or as store
    credit; `method` says which the customer chose."""

    name: ClassVar[str] = "refund.requested"
    order_id: int
    amount: str
    currency: str
    reason: str
    method: str = "original"
    return_id: int | None = None
    # Who asks (the cashier's refund limit applies to them), where (a cash
    # refund leaves that till's drawer) and which manager approved it.
    requested_by_user_id: int | None = None
    requested_by_key: str | None = None  # an API key's prefix (a till, a channel)
    terminal_id: int | None = None
    approved_by_user_id: int | None = None
    at_store_id: int | None = None  # where the money goes back (the return's store)
