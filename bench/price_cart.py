"""The pricing engine alone (pure function, no database) with 200 active
promotions of mixed kinds and a few price lists, on carts of 1, 10 and 100
lines.

Prints, one line per cart size:
  price_cart lines=… carts_per_s=… p99_ms=…
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

from _setup import percentile
from omniretail.pricing.engine import price_cart
from omniretail.pricing.engine_types import (
    CartLine,
    Context,
    Coupon,
    PriceEntry,
    PriceList,
    PricingInput,
    Promotion,
    Rules,
)

NOW = dt.datetime(2025, 6, 6, 12, 0, tzinfo=dt.UTC)
VARIANTS, CATEGORIES, PROMOTIONS = 2_000, 40, 200
SECONDS_PER_SIZE = 2.0


def rules_build(rng: random.Random) -> Rules:
    promotions = []
    for i in range(PROMOTIONS):
        kind = ("percent_off", "amount_off", "buy_x_get_y")[i % 3]
        target = "order" if i % 25 == 0 else "items"
        promotions.append(
            Promotion(
                id=i + 1,
                code=f"P{i + 1}",
                name=f"Promotion {i + 1}",
                kind=kind,  # type: ignore[arg-type]
                value=Decimal(100 if kind == "buy_x_get_y" else rng.randint(1, 30)),
                target=target,  # type: ignore[arg-type]
                variant_ids=tuple(rng.sample(range(1, VARIANTS + 1), 20)) if i % 2 else (),
                category_ids=() if i % 2 else (rng.randint(1, CATEGORIES),),
                buy_quantity=2,
                get_quantity=1,
                min_spend=Decimal("50.00") if i % 7 == 0 else None,
                exclusive=i % 50 == 0,
                priority=rng.randint(0, 100),
                valid_to=NOW + dt.timedelta(days=3),
                coupon_required=i % 40 == 1,
                campaign="BENCH" if i % 10 == 0 else None,
            )
        )
    entries = tuple(
        PriceEntry(v, Decimal(rng.randint(100, 9_900)) / 100, NOW - dt.timedelta(days=9))
        for v in range(1, VARIANTS + 1, 3)
    )
    return Rules(
        tax_mode="included",
        tax_rates={"standard": Decimal("0.20"), "reduced": Decimal("0.055")},
        price_lists=(
            PriceList("web", "EUR", 0, "web", None, None, entries),
            PriceList("vip", "EUR", 0, None, None, "vip", entries[::2]),
        ),
        promotions=tuple(promotions),
        coupons=(Coupon("WELCOME", 2, max_uses=1_000, uses=10),),
    )


def cart_build(rng: random.Random, size: int) -> tuple[CartLine, ...]:
    lines = []
    for i in range(size):
        variant = rng.randint(1, VARIANTS)
        lines.append(
            CartLine(
                line_id=str(i + 1),
                sku=f"SKU-{variant}",
                variant_id=variant,
                product_id=variant // 3,
                tax_class="reduced" if variant % 5 == 0 else "standard",
                base_price=Decimal(rng.randint(100, 9_900)) / 100,
                quantity=rng.randint(1, 4),
                category_ids=(variant % CATEGORIES + 1,),
            )
        )
    return tuple(lines)


def main() -> None:
    rng = random.Random(6)
    rules = rules_build(rng)
    context = Context(
        "web", "EUR", NOW, customer_id=1, customer_group="vip", coupon_codes=("welcome",)
    )
    for size in (1, 10, 100):
        carts = [PricingInput(cart_build(rng, size), context, rules) for _ in range(50)]
        price_cart(carts[0])  # warm up
        timings: list[float] = []
        started = time.perf_counter()
        while time.perf_counter() - started < SECONDS_PER_SIZE:
            for cart in carts:
                t0 = time.perf_counter()
                price_cart(cart)
                timings.append(time.perf_counter() - t0)
        elapsed = sum(timings)
        print(
            f"price_cart lines={size} carts_per_s={len(timings) / elapsed:.0f} "
            f"p99_ms={percentile(timings, 99) * 1000:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
