"""Events of returns and exchanges (refund requests live in events.py)."""

from dataclasses import dataclass, field
from typing import Any, ClassVar

from omniretail.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ReturnAccepted(DomainEvent):
    """Goods of an order came back and were accepted. `lines` carry what came
    back per order line, so loyalty can reverse points and accounting can
    issue the credit note and take the goods' cost back out of COGS:
    {order_line_id, sku_id, quantity, condition, refund_amount}."""

    name: ClassVar[str] = "return.accepted"
    return_id: int
    number: str
    order_id: int
    channel_id: int
    store_id: int | None
    location_id: int
    customer_id: int | None
    refund_method: str
    refund_amount: str
    currency: str
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ExchangeCompleted(DomainEvent):
    """Returned goods were exchanged at a till for a replacement order. The
    customer paid `amount_due` (difference above the returned value) or is
    owed `refund_due` (requested separately as refund.requested). The rest of
    the replacement is paid by an exchange credit tender; accounting numbers
    the replacement's receipt and books the exchange in this transaction."""

    name: ClassVar[str] = "exchange.completed"
    return_id: int
    order_id: int
    replacement_order_id: int
    terminal_id: int
    returned_value: str
    replacement_total: str
    amount_due: str
    refund_due: str
    currency: str
