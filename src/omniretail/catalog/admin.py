"""Back office for the catalog: products with their SKUs, categories, tax classes."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from omniretail.catalog.domain import barcode_normalise
from omniretail.catalog.models import Category, KitComponent, Product, TaxClass, Variant


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ("product", "sku", "name", "barcode", "price", "attributes", "active")

    def clean_barcode(self) -> str | None:
        value = self.cleaned_data.get("barcode")
        if not value:
            return None
        try:
            return barcode_normalise(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    fields = ("sku", "name", "barcode", "price", "active")
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "category",
        "tax_class",
        "brand",
        "variant_count",
        "stock_policy",
        "active",
    )
    list_filter = ("active", "stock_policy", "category", "tax_class")
    list_select_related = ("category", "tax_class")
    search_fields = ("code", "name", "brand", "variants__sku", "=variants__barcode")
    date_hierarchy = "created_at"
    inlines = (VariantInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(_variant_count=Count("variants"))

    @admin.display(description="SKUs", ordering="_variant_count")
    def variant_count(self, obj: Product) -> int:
        return obj._variant_count  # type: ignore[attr-defined]


class KitComponentInline(admin.TabularInline):
    """A kit SKU's components: selling the kit consumes them."""

    model = KitComponent
    fk_name = "kit"
    extra = 0
    autocomplete_fields = ("component",)


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    form = VariantForm
    inlines = (KitComponentInline,)
    list_display = ("sku", "product", "name", "barcode", "price", "active")
    list_filter = ("active", "product__category", "product__tax_class")
    list_select_related = ("product",)
    search_fields = ("sku", "=barcode", "name", "product__name", "product__code")
    autocomplete_fields = ("product",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "parent")
    list_select_related = ("parent",)
    search_fields = ("code", "name")


@admin.register(TaxClass)
class TaxClassAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "rate")
    search_fields = ("code", "name")
