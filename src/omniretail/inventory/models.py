from django.db import models

from omniretail.catalog.models import Variant
from omniretail.core.models import Store


class Location(models.Model):
    """Where stock is. Suppliers, customers, adjustments, scrap and transit are
    locations too, so every change of stock is a move and stock is conserved."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"
        TRANSIT = "transit", "In transit"
        SUPPLIER = "supplier", "Suppliers (virtual)"
        CUSTOMER = "customer", "Customers (virtual)"
        ADJUSTMENT = "adjustment", "Inventory adjustments (virtual)"
        SCRAP = "scrap", "Scrap (virtual)"

    PHYSICAL = (Kind.WAREHOUSE, Kind.STORE)
    VIRTUAL = (Kind.SUPPLIER, Kind.CUSTOMER, Kind.ADJUSTMENT, Kind.SCRAP)

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="locations"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="store") | models.Q(store__isnull=False),
                name="location_store_kind_has_store",
                violation_error_message="A store location must belong to a store.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_virtual(self) -> bool:
        return self.kind in self.VIRTUAL


class StockLevel(models.Model):
    """Cached balance of one SKU at one location = the sum of its moves."""

    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "location"], name="stocklevel_unique"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="reserved_gte_0"),
        ]
        indexes = [models.Index(fields=["location", "sku"])]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.location_id}: {self.on_hand}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class StockMove(models.Model):
    """An append-only move of a quantity of one SKU between two locations."""

    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_moves")
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="moves_out")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="moves_in")
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    reference_type = models.CharField(max_length=32, blank=True, help_text="order, receipt, ...")
    reference_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="move_quantity_gt_0"),
            models.CheckConstraint(
                condition=~models.Q(from_location=models.F("to_location")),
                name="move_between_two_locations",
            ),
        ]
        indexes = [models.Index(fields=["reference_type", "reference_id"])]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_id}: {self.from_location_id} → {self.to_location_id}"
