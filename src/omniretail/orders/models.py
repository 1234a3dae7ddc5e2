from django.db import models

from omniretail.catalog.models import Variant
from omniretail.core.models import Channel, Store, Terminal
from omniretail.customers.models import Customer
from omniretail.inventory.models import Location
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

    class Fulfilment(models.TextChoices):
        CARRY_OUT = "carry_out", "Carried out of the store"
        SHIP = "ship", "Shipped to an address"
        PICKUP = "pickup", "Picked up in store"

    class Payment(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        AUTHORIZED = "authorized", "Authorised"
        PAID = "paid", "Paid"
        PARTLY_REFUNDED = "partly_refunded", "Partly refunded"
        REFUNDED = "refunded", "Refunded"

    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    fulfilment_method = models.CharField(
        max_length=16, choices=Fulfilment.choices, default=Fulfilment.CARRY_OUT
    )
    pickup_store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="pickup_orders"
    )
    shipping_address = models.JSONField(default=dict, blank=True)
    email = models.EmailField(blank=True, help_text="Where order notifications go")
    payment_status = models.CharField(
        max_length=16, choices=Payment.choices, default=Payment.UNPAID, db_index=True
    )
    shipping_gross = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    hold_reason = models.CharField(max_length=300, blank=True)
    held_from = models.CharField(
        max_length=20, blank=True, help_text="The status an order on hold returns to"
    )
    currency = models.CharField(max_length=3)
    total_net = models.DecimalField(max_digits=14, decimal_places=2)
    total_tax = models.DecimalField(max_digits=14, decimal_places=2)
    total_gross = models.DecimalField(max_digits=14, decimal_places=2)
    placed_at = models.DateTimeField(db_index=True)
    created_by = models.CharField(max_length=200)
    # What the pricing engine gave: the discount in the totals above, the
    # promotions and coupons applied, and the campaign the order counts for.
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    promotions = models.JSONField(default=list, blank=True)
    coupon_codes = models.JSONField(default=list, blank=True)
    campaign_code = models.CharField(max_length=64, blank=True, db_index=True)
    source_code = models.CharField(max_length=64, blank=True)
    attribution_via = models.CharField(max_length=16, blank=True)
    # Things a store manager must look at (a till sale synced after being
    # made offline, stock that went below zero, ...); empty when all is well.
    review_flags = models.JSONField(default=list, blank=True)
    sold_offline_at = models.DateTimeField(null=True, blank=True)
    # A till sale made offline: the number and hash the device gave it.
    device_receipt = models.JSONField(default=dict, blank=True)
    cashier_label = models.CharField(max_length=200, blank=True)

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
    list_price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="The regular unit price"
    )
    discount = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Taken off this line (in its gross)"
    )
    discounts = models.JSONField(default=list, blank=True, help_text="Each discount and why")
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_unique_no"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_qty_gt_0"),
            models.CheckConstraint(
                condition=models.Q(
                    quantity__gte=models.F("quantity_fulfilled") + models.F("quantity_cancelled")
                ),
                name="orderline_fulfilled_le_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_fulfilled__gte=models.F("quantity_returned")),
                name="orderline_returned_le_fulfilled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"

    @property
    def quantity_open(self) -> int:
        """Still to fulfil."""
        return self.quantity - self.quantity_fulfilled - self.quantity_cancelled

    @property
    def quantity_returnable(self) -> int:
        return self.quantity_fulfilled - self.quantity_returned


class OrderActivity(models.Model):
    """The order's timeline: every state change, routing decision, shipment,
    return and payment step, with who and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="activities")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_label = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, help_text="status, routing, shipment, return, payment")
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "order activities"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}: {self.message}"


class Return(models.Model):
    """Goods of an order coming back, from any channel, at any store or by
    post to a warehouse. Numbered RET-000001...; the refund itself is carried
    out by payments (status becomes refunded when it reports so)."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted (refund requested)"
        REFUNDED = "refunded", "Refunded"

    class RefundMethod(models.TextChoices):
        ORIGINAL = "original", "Original tender"
        STORE_CREDIT = "store_credit", "Store credit"
        EXCHANGE = "exchange", "Exchanged for other goods"

    class Condition(models.TextChoices):
        RESTOCK = "restock", "Back to stock"
        SCRAP = "scrap", "Written off (scrap)"

    number = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    channel = models.ForeignKey(
        Channel,
        on_delete=models.PROTECT,
        related_name="returns",
        help_text="Where the return happens: a store's POS channel, or the web (by post)",
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="returns"
    )
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        related_name="returns",
        help_text="Where the goods came back",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACCEPTED, db_index=True
    )
    refund_method = models.CharField(max_length=16, choices=RefundMethod.choices)
    currency = models.CharField(max_length=3)
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    reason = models.CharField(max_length=300, blank=True)
    client_uuid = models.UUIDField(
        null=True, blank=True, unique=True, help_text="Made by the till; a resend finds it"
    )
    replacement_order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces_returns",
        help_text="An exchange: the order of the goods handed over instead",
    )
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refund_amount__gte=0), name="return_refund_gte_0"
            )
        ]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    return_doc = models.ForeignKey(
        Return, on_delete=models.CASCADE, related_name="lines", db_column="return_id"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="returns")
    quantity = models.PositiveIntegerField()
    condition = models.CharField(max_length=16, choices=Return.Condition.choices)
    reason = models.CharField(max_length=300, blank=True)
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["return_doc", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="returnline_qty_gt_0"),
            models.CheckConstraint(
                condition=models.Q(refund_amount__gte=0), name="returnline_refund_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.description} ({self.condition})"
