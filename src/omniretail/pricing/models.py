"""Price lists with effective-dated entries, promotions, coupons, campaigns and source codes.

What these rows mean when a cart is priced is the engine's business
(engine.py, README); the tables only keep the rules and their history.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Upper


class PriceList(models.Model):
    """Prices for a channel, a store, a customer group and a currency; any of
    the three targets left empty means "all". Prices are in the company's tax
    mode (tax-included when the company shows tax-included prices)."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    channel = models.ForeignKey(
        "core.Channel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    store = models.ForeignKey(
        "core.Store", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    customer_group = models.ForeignKey(
        "customers.CustomerGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="price_lists",
    )
    currency = models.CharField(max_length=3, default="EUR")
    priority = models.IntegerField(
        default=0, help_text="Among lists equally specific, the highest priority wins."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PriceListEntry(models.Model):
    """One price of a variant in a list for a period. A change adds a row
    (price_set closes the open one): the table is the price history."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(
        null=True, blank=True, help_text="Excluded; empty = until further notice."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "price list entries"
        ordering = ["price_list", "variant", "valid_from"]
        indexes = [
            models.Index(fields=["variant", "valid_from"], name="pricing_entry_variant_from")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="pricing_entry_price_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gt=models.F("valid_from")),
                name="pricing_entry_period_ordered",
                violation_error_message="valid_to must be after valid_from.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} @ {self.price} from {self.valid_from:%Y-%m-%d %H:%M}"


class Campaign(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SourceCode(models.Model):
    """A code printed on a flyer or carried by a link (?source=…): it
    attributes the order to a campaign. Case-insensitive, stored upper-case."""

    code = models.CharField(max_length=64)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="source_codes")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(Upper("code"), name="pricing_source_code_unique_ci")]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: object, **kwargs: object) -> None:
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Promotion(models.Model):
    class Kind(models.TextChoices):
        PERCENT_OFF = "percent_off", "Percent off"
        AMOUNT_OFF = "amount_off", "Amount off (each item, or once per order)"
        BUY_X_GET_Y = "buy_x_get_y", "Buy X get Y (the cheapest, value % off)"

    class Target(models.TextChoices):
        ITEMS = "items", "Chosen variants, products or categories"
        ORDER = "order", "The whole order"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, help_text="Shown to the customer as the reason.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=(
            "Percent (10 = 10 %), amount, or for buy X get Y the percent off the Y (100 = free)."
        ),
    )
    target = models.CharField(max_length=8, choices=Target.choices, default=Target.ITEMS)
    variants = models.ManyToManyField("catalog.Variant", blank=True, related_name="+")
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", help_text="Subcategories included."
    )
    buy_quantity = models.PositiveIntegerField(default=0)
    get_quantity = models.PositiveIntegerField(default=0)
    min_spend = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Spend threshold on the eligible items (or the order), after earlier discounts.",
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="promotions"
    )
    exclusive = models.BooleanField(
        default=False, help_text="An exclusive promotion never combines with another one."
    )
    priority = models.IntegerField(default=0, help_text="Higher runs first.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    channels = models.ManyToManyField(
        "core.Channel", blank=True, related_name="+", help_text="Empty = every channel."
    )
    customer_groups = models.ManyToManyField(
        "customers.CustomerGroup", blank=True, related_name="+", help_text="Empty = everyone."
    )
    coupon_required = models.BooleanField(
        default=False, help_text="Applies only when one of its coupons is entered."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-priority", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="promotion_value_gte_0"),
            models.CheckConstraint(
                condition=~models.Q(kind="percent_off") | models.Q(value__lte=100),
                name="promotion_percent_lte_100",
                violation_error_message="A percentage is at most 100.",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="buy_x_get_y")
                | (models.Q(buy_quantity__gt=0, get_quantity__gt=0) & models.Q(value__lte=100)),
                name="promotion_bxgy_quantities",
                violation_error_message="Buy X get Y needs X and Y above 0 and a percent ≤ 100.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    code = models.CharField(max_length=64)
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="coupons")
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="1 = single use; empty = unlimited."
    )
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0, editable=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="pricing_coupon_code_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True)
                | models.Q(uses__lte=models.F("max_uses")),
                name="pricing_coupon_uses_lte_max",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: object, **kwargs: object) -> None:
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class CouponRedemption(models.Model):
    """One use of a coupon by an order (pointed at by type and id: pricing
    knows nothing of orders)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    order_type = models.CharField(max_length=32)
    order_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["coupon", "customer"], name="pricing_redemption_customer")]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "order_type", "order_id"],
                name="pricing_redemption_once_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} → {self.order_type} {self.order_id}"
