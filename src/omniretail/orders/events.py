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
