"""Several tills redeem the same coupon at once on PostgreSQL (SQLite
serialises writers): the conditional UPDATE lets exactly one take the last use."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from omniretail.core.errors import ValidationFailed
from omniretail.customers.models import Customer
from omniretail.pricing.models import Coupon, CouponRedemption, Promotion
from omniretail.pricing.services import coupon_redeem

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

THREADS = 6


def _race(work) -> list[object]:
    barrier = threading.Barrier(THREADS, timeout=30)
    results: list[object] = [None] * THREADS

    def run(index: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():  # the order's transaction
                results[index] = work(index)
        except ValidationFailed as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return results


def _promotion() -> Promotion:
    return Promotion.objects.create(
        code="welcome", name="Welcome", kind="percent_off", target="order", value=Decimal("10")
    )


def test_last_use_of_a_coupon_goes_to_exactly_one_till():
    Coupon.objects.create(code="LAST1", promotion=_promotion(), max_uses=5, uses=4)
    results = _race(lambda i: coupon_redeem(codes=["last1"], order_type="order", order_id=f"o{i}"))
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(refused) == THREADS - 1
    assert {r.message for r in refused} == {"Coupon LAST1 has been used the maximum 5 times"}
    assert {r.field for r in refused} == {"coupon_codes[0]"}
    assert Coupon.objects.get().uses == 5
    assert CouponRedemption.objects.count() == 1


def test_per_customer_limit_holds_under_concurrency():
    coupon = Coupon.objects.create(code="ONCE", promotion=_promotion(), per_customer_limit=1)
    ann = Customer.objects.create(first_name="Ann", email="ann@example.com")
    results = _race(
        lambda i: coupon_redeem(
            codes=["once"], order_type="order", order_id=f"o{i}", customer_id=ann.pk
        )
    )
    assert sum(not isinstance(r, ValidationFailed) for r in results) == 1
    coupon.refresh_from_db()
    assert coupon.uses == 1
    assert CouponRedemption.objects.filter(customer=ann).count() == 1
