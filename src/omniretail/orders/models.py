from django.db import models

from omniretail.catalog.models import Variant
from omniretail.core.models import Channel, Store, Terminal
from omniretail.customers.models import Customer
from omniretail.orders import domain


class Order(models.Model):
    """One order model for every channel: POS sale, web, marketplace, phone."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = domain.PENDING_PAYMENT, "Pending payment"
        CONFIRMED = domain.CONFIRMED, "Confirmed"
        ALLOCATED = domain.ALLOCATED, "Allocated"
        PARTLY_FULFILLED = domain.PARTLY_FULFILLED, "Partly fulfilled"
        FULFILLED = domain.FULFILLED, "Fulfilled"
        COMPLETED = domain.COMPLETED, "Completed"
        ON_HOLD = domain.ON_HOLD, "On hold"
        CANCELLED = domain.CANCELLED, "Cancelled"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(
        max_length=100, help_text="The channel's own id: a POS client UUID, a marketplace order id"
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    currency = models.CharField(max_length=3)
    total_net = models.DecimalField(max_digits=14, decimal_places=2)
    total_tax = models.DecimalField(max_digits=14, decimal_places=2)
    total_gross = models.DecimalField(max_digits=14, decimal_places=2)
    placed_at = models.DateTimeField(db_index=True)
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_channel_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.channel.code})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField()
    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="order_lines")
    description = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4)
    net = models.DecimalField(max_digits=14, decimal_places=2)
    tax = models.DecimalField(max_digits=14, decimal_places=2)
    gross = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_unique_no"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_qty_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"
