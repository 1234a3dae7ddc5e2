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
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="products"
    )
    tax_class = models.ForeignKey(TaxClass, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

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
