"""Inventory documents: transfers, suppliers and purchase orders, counts.

Each is a small state machine (see inventory/domain.py) whose verbs live in
inventory/services/; the stock itself only ever changes through moves."""

from django.db import models

from omniretail.catalog.models import Variant
from omniretail.inventory.models.ledger import Location


class Transfer(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SHIPPED = "shipped", "Shipped (in transit)"
        PARTLY_RECEIVED = "partly_received", "Partly received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True)
    from_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    note = models.TextField(blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(from_location=models.F("to_location")),
                name="transfer_between_two_locations",
            )
        ]

    def __str__(self) -> str:
        return self.number


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(help_text="Shipped")
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_lost = models.PositiveIntegerField(
        default=0, help_text="Written off as a discrepancy when the transfer was closed"
    )
    discrepancy_note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "sku"], name="transfer_line_unique_sku"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="transfer_qty_gt_0"),
            models.CheckConstraint(
                condition=models.Q(
                    quantity__gte=models.F("quantity_received") + models.F("quantity_lost")
                ),
                name="transfer_received_le_shipped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_id}"


class Supplier(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveSmallIntegerField(default=7)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReorderRule(models.Model):
    """When available stock of a SKU at a location falls to the reorder point,
    propose ordering the reorder quantity from the supplier."""

    sku = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="reorder_rules")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="reorder_rules")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="reorder_rules")
    reorder_point = models.PositiveIntegerField()
    reorder_quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "location"], name="reorder_rule_unique"),
            models.CheckConstraint(
                condition=models.Q(reorder_quantity__gt=0), name="reorder_quantity_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.location_id}: ≤{self.reorder_point} → +{self.reorder_quantity}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent to supplier"
        PARTLY_RECEIVED = "partly_received", "Partly received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="orders")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    expected_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4)
    over_received = models.BooleanField(
        default=False, help_text="More arrived than was ordered and was accepted (flagged)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="po_line_unique_sku"),
            models.CheckConstraint(
                condition=models.Q(quantity_ordered__gt=0), name="po_line_qty_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} × {self.sku_id}"


class StockCount(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Counting"
        POSTED = "posted", "Posted"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="counts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    scope = models.CharField(
        max_length=200, blank=True, help_text="What is counted: all, a category, a list of SKUs"
    )
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(help_text="On hand when the line was posted")
    counted = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["count", "sku"], name="count_line_unique_sku")
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}: {self.counted} counted, {self.expected} expected"

    @property
    def difference(self) -> int:
        return 0 if self.counted is None else self.counted - self.expected
