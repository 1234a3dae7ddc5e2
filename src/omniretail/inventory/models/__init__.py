from omniretail.inventory.models.documents import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    StockCount,
    StockCountLine,
    Supplier,
    Transfer,
    TransferLine,
)
from omniretail.inventory.models.ledger import (
    ChannelLocation,
    Location,
    Reservation,
    SkuValuation,
    StockLevel,
    StockMove,
)

__all__ = [
    "ChannelLocation",
    "Location",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "ReorderRule",
    "Reservation",
    "SkuValuation",
    "StockCount",
    "StockCountLine",
    "StockLevel",
    "StockMove",
    "Supplier",
    "Transfer",
    "TransferLine",
]
