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
