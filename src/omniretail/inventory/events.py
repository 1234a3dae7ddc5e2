from dataclasses import dataclass
from typing import ClassVar

from omniretail.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class StockChanged(DomainEvent):
    """Availability of these SKUs changed at these locations (on hand or
    reserved). Channels and feeds re-read availability; a list of
    [sku_id, location_id] pairs keeps one event per transaction."""

    name: ClassVar[str] = "stock.changed"
    pairs: list[tuple[int, int]]
    reason: str


@dataclass(frozen=True, kw_only=True)
class StockAdjusted(DomainEvent):
    """Stock was written off (to adjustment or scrap) or found (from
    adjustment), valued at the moving average cost: the books follow."""

    name: ClassVar[str] = "stock.adjusted"
    reference_type: str
    reference_id: str
    reason: str
    store_id: int | None
    value_lost: str
    value_found: str


@dataclass(frozen=True, kw_only=True)
class StockPurchased(DomainEvent):
    """Goods came in from suppliers (value_in, at their purchase cost) or went
    back to them (value_out, at the average cost): the books follow."""

    name: ClassVar[str] = "stock.purchased"
    reference_type: str
    reference_id: str
    store_id: int | None
    value_in: str
    value_out: str


@dataclass(frozen=True, kw_only=True)
class BackordersFilled(DomainEvent):
    """Waiting holds became active: the demands they belong to (order lines)
    may now be complete. [demand_type, demand_id] pairs."""

    name: ClassVar[str] = "backorder.filled"
    demands: list[tuple[str, str]]
