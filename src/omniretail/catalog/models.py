from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models


class TaxClass(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    rate = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
        help_text="0.2000 = 20 %",
    )

    class Meta:
        verbose_name_plural = "tax classes"
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="tax_rate_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate * 100:.2f} %)"


class Category(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Kind(models.TextChoices):
        GOODS = "goods", "Goods (stocked)"
        GIFT_CARD = "gift_card", "Gift card (a voucher issued when sold; no stock, no VAT)"

    class StockPolicy(models.TextChoices):
        REFUSE = "refuse", "Refuse when out of stock"
        BACKORDER = "backorder", "Take backorders"
        PREORDER = "preorder", "Take pre-orders (expected date)"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="products"
    )
    tax_class = models.ForeignKey(TaxClass, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
    stock_policy = models.CharField(
        max_length=16,
        choices=StockPolicy.choices,
        default=StockPolicy.REFUSE,
        help_text="What every channel does when the product is out of stock.",
    )
    expected_date = models.DateField(
        null=True, blank=True, help_text="When pre-ordered goods are expected."
    )
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        default=Kind.GOODS,
        help_text="A gift card is sold at its face value and issued as a card when paid.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(stock_policy="preorder")
                | models.Q(expected_date__isnull=False),
                name="product_preorder_has_date",
                violation_error_message="A pre-order product needs an expected date.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """A sellable SKU: one size/colour of a product, with its own barcode."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, help_text="e.g. 'Navy / M'")
    attributes = models.JSONField(default=dict, blank=True)
    barcode = models.CharField(max_length=14, unique=True, null=True, blank=True)
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="List price in the company currency (tax included when the company says so).",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="variant_price_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.product.name} {self.name}".strip()


class KitComponent(models.Model):
    """A kit (bundle) SKU is made of components: selling the kit consumes them,
    and its availability is derived from theirs. A kit holds no stock itself."""

    kit = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="used_in_kits")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kit", "component"], name="kit_component_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="kit_quantity_gt_0"),
            models.CheckConstraint(
                condition=~models.Q(kit=models.F("component")), name="kit_not_its_own_component"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.component_id} in kit {self.kit_id}"
