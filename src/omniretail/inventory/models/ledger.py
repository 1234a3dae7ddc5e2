from django.db import models

from omniretail.catalog.models import Variant
from omniretail.core.models import Channel, Store


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

    # The (sku, location) and (location, sku) indexes below serve both keys.
    sku = models.ForeignKey(
        Variant, on_delete=models.PROTECT, related_name="stock_levels", db_index=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="stock_levels", db_index=False
    )
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


class ChannelLocation(models.Model):
    """A channel sells from these locations, by priority (1 first), keeping a
    safety buffer back (e.g. the last 2 units of a store for walk-ins)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sources")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="channels")
    priority = models.PositiveSmallIntegerField(default=1)
    safety_buffer = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["channel", "priority", "location"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "location"], name="channel_location_unique")
        ]

    def __str__(self) -> str:
        return (
            f"{self.channel_id} ← {self.location_id} (#{self.priority}, keep {self.safety_buffer})"
        )


class Reservation(models.Model):
    """Stock held at one location for a demand (an order line, a cart).

    Active holds are counted in StockLevel.reserved; a backordered hold waits
    for stock and is filled, oldest first, when stock arrives."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BACKORDERED = "backordered", "Waiting for stock"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"
        CONSUMED = "consumed", "Fulfilled"

    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    demand_type = models.CharField(max_length=32, help_text="order_line, cart, ...")
    demand_id = models.CharField(max_length=64)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="reservations"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    expected_date = models.DateField(null=True, blank=True, help_text="For pre-orders")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="reservation_qty_gt_0")
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["demand_type", "demand_id"]),
            models.Index(fields=["sku", "location", "status"]),
        ]

    def __str__(self) -> str:
        where = f"{self.sku_id}@{self.location_id}"
        return f"{self.quantity} × {where} for {self.demand_type} {self.demand_id}"


class SkuValuation(models.Model):
    """Moving average unit cost of a SKU over all its physical stock."""

    sku = models.OneToOneField(Variant, on_delete=models.CASCADE, related_name="valuation")
    average_cost = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.sku_id}: {self.average_cost}"
