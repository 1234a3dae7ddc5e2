from django.db import models

from omniretail.inventory.models import Location
from omniretail.orders.models import Order, OrderLine


class RoutingDecision(models.Model):
    """Why an order is fulfilled from where it is: the rule, its reason and
    the plan, kept for the back office."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="routing_decisions")
    at = models.DateTimeField(auto_now_add=True)
    rule = models.CharField(max_length=32)
    reason = models.CharField(max_length=500)
    plan = models.JSONField(help_text="[{location, sku, quantity}]")
    backordered = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.rule} — {self.reason}"


class Shipment(models.Model):
    """Goods leaving one location for one order: a parcel shipped to an
    address, or a bag waiting at a store counter for pick-up."""

    class Kind(models.TextChoices):
        SHIP = "ship", "Ship to address"
        PICKUP = "pickup", "Pick-up in store"

    class Status(models.TextChoices):
        PICKING = "picking", "Picking"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Delivery failed (back to stock)"
        READY = "ready", "Ready for pick-up"
        COLLECTED = "collected", "Collected"
        EXPIRED = "expired", "Not collected (expired)"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="shipments")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PICKING)
    carrier = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    collection_code = models.CharField(max_length=12, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    pickup_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "pickup_expires_at"])]

    def __str__(self) -> str:
        return self.number


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="shipment_line_qty_gt_0"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"
