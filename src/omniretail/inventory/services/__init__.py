"""Every write to stock, split by concept; import from here."""

from omniretail.inventory.services.ledger import (
    MoveSpec,
    NegativeStock,
    ReceiveLine,
    StockLine,
    location_transit,
    location_virtual,
    stock_moves_post,
    stock_relocate,
)
from omniretail.inventory.services.receiving import stock_receive
from omniretail.inventory.services.reservations import (
    ChannelLine,
    InsufficientStock,
    ReserveHints,
    ReserveLine,
    backorders_fill,
    reservations_consume,
    reservations_expire,
    reservations_release,
    reservations_release_demand,
    stock_reserve,
    stock_reserve_demands,
    stock_reserve_for_channel,
    stock_wait,
)

__all__ = [
    "ChannelLine",
    "InsufficientStock",
    "MoveSpec",
    "NegativeStock",
    "ReceiveLine",
    "ReserveHints",
    "ReserveLine",
    "StockLine",
    "backorders_fill",
    "location_transit",
    "location_virtual",
    "reservations_consume",
    "reservations_expire",
    "reservations_release",
    "reservations_release_demand",
    "stock_moves_post",
    "stock_receive",
    "stock_relocate",
    "stock_reserve",
    "stock_reserve_demands",
    "stock_reserve_for_channel",
    "stock_wait",
]
