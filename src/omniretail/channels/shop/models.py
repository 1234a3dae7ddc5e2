"""The web shop's own records: carts (whose stock is held in inventory),
shipping methods, the link between a shop login and the one customer, sign-in
failures (rate limiting that works across processes) and return requests."""

from django.conf import settings
from django.db import models

from omniretail.catalog.models import Variant
from omniretail.core.models import Channel
from omniretail.customers.models import Customer
from omniretail.orders.models import Order, OrderLine


class ShippingMethod(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        help_text="What the customer pays, in the company's tax mode (tax included in the EU).",
    )
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="shipping_price_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price})"


class Cart(models.Model):
    """A shopper's cart. Each line holds its stock in inventory (demand type
    "cart", demand id "<cart>:<sku>") until `holds_expire_at`."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CHECKING_OUT = "checking_out", "Checking out (payment running)"
        ORDERED = "ordered", "Ordered"

    token = models.CharField(max_length=40, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    coupon_codes = models.JSONField(default=list, blank=True)
    holds_expire_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    checkout_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"cart #{self.pk} ({self.status})"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="cart_line_unique_sku"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="cart_line_qty_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_id} in cart {self.cart_id}"


class ShopAccount(models.Model):
    """A shop login (Django user, username = e-mail) for the one customer with
    that e-mail, whatever the channel they first bought in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_account"
    )
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="shop_account")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"shop account of customer #{self.customer_id}"


class SignInFailure(models.Model):
    """One failed sign-in, per key ("ip:<address>" and "account:<e-mail>").
    In the database so every app process sees the same count."""

    key = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "at"])]

    def __str__(self) -> str:
        return f"failed sign-in {self.key} at {self.at:%Y-%m-%d %H:%M}"


class ReturnRequest(models.Model):
    """A customer asks to send goods back; a store or the warehouse accepts
    it when the parcel arrives (the return itself is orders' `Return`)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACCEPTED = "accepted", "Accepted"
        REFUSED = "refused", "Refused"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    reason = models.CharField(max_length=300)
    return_number = models.CharField(max_length=32, blank=True)
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"return request #{self.pk} for order {self.order_id}"


class ReturnRequestLine(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="return_req_qty_gt_0")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × order line {self.order_line_id}"
