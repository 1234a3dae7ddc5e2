"""What happens to the goods of an order once they are picked: past-tense
facts written to the outbox by fulfilment/shipping.py."""

from dataclasses import dataclass
from typing import ClassVar

from omniretail.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ShipmentShipped(DomainEvent):
    """A parcel left a warehouse or store with a carrier: the customer can
    be sent the tracking number."""

    name: ClassVar[str] = "shipment.shipped"
    shipment_id: int
    order_id: int
    carrier: str
    tracking_number: str


@dataclass(frozen=True, kw_only=True)
class ShipmentDelivered(DomainEvent):
    name: ClassVar[str] = "shipment.delivered"
    shipment_id: int
    order_id: int


@dataclass(frozen=True, kw_only=True)
class ShipmentFailed(DomainEvent):
    """The carrier brought the parcel back; its goods are in stock again."""

    name: ClassVar[str] = "shipment.failed"
    shipment_id: int
    order_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class PickupReady(DomainEvent):
    """A pick-up order waits at the store counter. The collection code goes
    to the customer only (the notifier sends it); staff never need to see it."""

    name: ClassVar[str] = "pickup.ready"
    shipment_id: int
    order_id: int
    collection_code: str
    expires_at: str  # ISO 8601
