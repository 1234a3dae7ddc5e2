"""No double spend: tills redeem the same gift card, points or store credit
at the same instant on PostgreSQL; exactly one can have it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.core.errors import ValidationFailed
from omniretail.customers.models import Customer
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import GiftCard, LoyaltyAccount, StoreCreditAccount
from omniretail.loyalty.services import (
    giftcard_issue,
    giftcard_redeem,
    points_earn,
    points_redeem,
    store_credit_issue,
    store_credit_redeem,
)
from omniretail.loyalty.verify import loyalty_verify
from tests.concurrency.test_pg_concurrency import in_threads
from tests.loyalty.conftest import CASHIER_ACTOR

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

TILLS = 8


def attempt(spend) -> str:
    try:
        spend()
    except ValidationFailed as exc:
        return f"refused:{exc.field}"
    return "paid"


def test_tills_redeeming_one_gift_card_at_once_for_more_than_half_only_one_wins():
    card, code = giftcard_issue(
        amount=Decimal("100.00"),
        currency="EUR",
        reference=Reference("order_line", "1"),
        actor=CASHIER_ACTOR,
        sold=True,
    )

    def till(i: int) -> str:
        return attempt(
            lambda: giftcard_redeem(
                code=code,
                amount=Decimal("60.00"),
                reference=Reference("order", f"t{i}"),
                actor=CASHIER_ACTOR,
            )
        )

    results = in_threads(TILLS, till)
    assert sorted(results) == ["paid"] + ["refused:amount"] * (TILLS - 1)
    card.refresh_from_db()
    assert card.balance == Decimal("40.00")
    assert card.entries.filter(kind="redeem").count() == 1
    assert loyalty_verify()[0] == []


def test_one_request_retried_by_every_till_at_once_debits_once():
    card, code = giftcard_issue(
        amount=Decimal("100.00"),
        currency="EUR",
        reference=Reference("order_line", "1"),
        actor=CASHIER_ACTOR,
        sold=True,
    )
    results = in_threads(
        TILLS,
        lambda i: (
            giftcard_redeem(
                code=code,
                amount=Decimal("30.00"),
                reference=Reference("order", "same"),
                actor=CASHIER_ACTOR,
            ).replayed
        ),
    )
    assert sorted(results) == [False] + [True] * (TILLS - 1)
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("70.00")


def test_tills_spending_the_same_points_at_once_only_one_wins(program):
    alice = Customer.objects.create(first_name="Alice", email="alice@example.com")
    points_earn(
        customer=alice,
        net_amount=Decimal("1000"),
        currency="EUR",
        reference=Reference("order", "0"),
    )

    def till(i: int) -> str:
        return attempt(
            lambda: points_redeem(
                customer=alice,
                currency="EUR",
                points=600,
                reference=Reference("order", f"t{i}"),
                actor=CASHIER_ACTOR,
            )
        )

    results = in_threads(TILLS, till)
    assert sorted(results) == ["paid"] + ["refused:points"] * (TILLS - 1)
    assert LoyaltyAccount.objects.get(customer=alice).balance == 400
    assert loyalty_verify()[0] == []


def test_tills_spending_the_same_store_credit_at_once_only_one_wins():
    alice = Customer.objects.create(first_name="Alice", email="alice@example.com")
    store_credit_issue(
        customer=alice,
        amount=Decimal("50.00"),
        currency="EUR",
        source="refund",
        reference=Reference("refund", "R1"),
        actor=CASHIER_ACTOR,
    )

    def till(i: int) -> str:
        return attempt(
            lambda: store_credit_redeem(
                customer=alice,
                amount=Decimal("30.00"),
                currency="EUR",
                reference=Reference("order", f"t{i}"),
                actor=CASHIER_ACTOR,
            )
        )

    results = in_threads(TILLS, till)
    assert sorted(results) == ["paid"] + ["refused:amount"] * (TILLS - 1)
    assert StoreCreditAccount.objects.get(customer=alice).balance == Decimal("20.00")
    assert loyalty_verify()[0] == []
