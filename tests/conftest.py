"""Shared fixtures: a small retailer built through the real services."""

from __future__ import annotations

import os
import shutil
import zlib
from dataclasses import dataclass
from decimal import Decimal

import pytest

from omniretail.catalog.domain import barcode_with_check_digit
from omniretail.catalog.models import Product, TaxClass, Variant
from omniretail.catalog.services import VariantSpec, product_create
from omniretail.core.access import SYSTEM
from omniretail.core.apikeys import api_key_issue
from omniretail.core.models import Channel, Company, Store, Terminal
from omniretail.core.services import channel_create, store_create, terminal_create
from omniretail.inventory.models import Location
from omniretail.inventory.services import ReceiveLine, stock_receive
from omniretail.payments.drawers import drawer_open

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop + live_server

IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))


@dataclass
class Shop:
    company: Company
    store: Store
    pos_channel: Channel
    terminal: Terminal
    terminal_token: str
    warehouse: Location
    floor: Location
    standard: TaxClass
    reduced: TaxClass
    shirt: Product
    shirt_m: Variant
    shirt_l: Variant
    mug: Variant
    candle: Variant


def ean(seed: str, i: int) -> str:
    """A valid EAN-13 in the retailer's own 20-29 range, unique per (seed, i)."""
    return barcode_with_check_digit(f"20{zlib.crc32(seed.encode()) % 10**6:06d}{i:04d}")


def build_shop(suffix: str = "", *, open_drawer: bool = True) -> Shop:
    """A store with a till (its cash drawer open with a 100.00 float unless
    `open_drawer` is False), a warehouse and a shop floor, and a few products."""
    company, _ = Company.objects.get_or_create(
        code="acme", defaults={"name": "Acme Home & Apparel", "currency": "EUR"}
    )
    store = store_create(company=company, code=f"paris{suffix}", name=f"Paris Marais{suffix}")
    channel = channel_create(
        company=company, code=f"pos-paris{suffix}", name="POS Paris", kind="pos", store=store
    )
    terminal = terminal_create(store=store, channel=channel, code=f"p{suffix}t1", name="Till 1")
    token = api_key_issue(name=f"till {terminal.code}", channel=channel, terminal=terminal).token
    warehouse, _ = Location.objects.get_or_create(
        code="wh-main", defaults={"name": "Main warehouse", "kind": Location.Kind.WAREHOUSE}
    )
    floor = Location.objects.create(
        code=f"st-paris{suffix}", name=f"Paris floor{suffix}", kind="store", store=store
    )
    standard, _ = TaxClass.objects.get_or_create(
        code="standard", defaults={"name": "Standard", "rate": Decimal("0.2000")}
    )
    reduced, _ = TaxClass.objects.get_or_create(
        code="reduced", defaults={"name": "Reduced", "rate": Decimal("0.0550")}
    )
    shirt = product_create(
        code=f"linen-shirt{suffix}",
        name="Linen Shirt",
        tax_class=standard,
        variants=[
            VariantSpec(f"LS-M{suffix}", "White / M", Decimal("49.90"), ean(suffix, 1)),
            VariantSpec(f"LS-L{suffix}", "White / L", Decimal("49.90"), ean(suffix, 2)),
        ],
    )
    mug_p = product_create(
        code=f"mug{suffix}",
        name="Stoneware Mug",
        tax_class=standard,
        variants=[VariantSpec(f"MUG-GR{suffix}", "Grey", Decimal("12.50"), ean(suffix, 3))],
    )
    candle_p = product_create(
        code=f"candle{suffix}",
        name="Fig Candle",
        tax_class=reduced,
        variants=[VariantSpec(f"CAN-FIG{suffix}", "Fig", Decimal("18.00"), ean(suffix, 4))],
    )
    variants = {v.sku: v for v in Variant.objects.filter(product__in=[shirt, mug_p, candle_p])}
    if open_drawer:
        drawer_open(terminal=terminal, float_amount=Decimal("100.00"), actor=SYSTEM)
    return Shop(
        company=company,
        store=store,
        pos_channel=channel,
        terminal=terminal,
        terminal_token=token,
        warehouse=warehouse,
        floor=floor,
        standard=standard,
        reduced=reduced,
        shirt=shirt,
        shirt_m=variants[f"LS-M{suffix}"],
        shirt_l=variants[f"LS-L{suffix}"],
        mug=variants[f"MUG-GR{suffix}"],
        candle=variants[f"CAN-FIG{suffix}"],
    )


def stock_up(shop: Shop, quantities: dict[Variant, int], location: Location | None = None) -> None:
    stock_receive(
        location=location or shop.floor,
        lines=[ReceiveLine(v.pk, q, Decimal("10.00")) for v, q in quantities.items()],
        actor=SYSTEM,
        reference="DN-TEST",
    )


@pytest.fixture
def shop(db) -> Shop:
    return build_shop()


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def pytest_collection_modifyitems(config, items):
    chromium = chromium_path()
    for item in items:
        if "browser" in item.keywords and chromium is None:
            item.add_marker(
                pytest.mark.skip(
                    reason="no Chromium found (install Debian's 'chromium' package to run "
                    "browser tests)"
                )
            )
        if "postgres_only" in item.keywords and not IS_POSTGRES:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs PostgreSQL (SQLite serialises writers); set DATABASE_URL"
                )
            )
