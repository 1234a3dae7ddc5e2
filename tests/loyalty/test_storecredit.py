"""Store credit: issued on a refund or as goodwill, spent as a tender, put
back when a sale it paid for is refunded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalEntry
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import StoreCreditAccount, StoreCreditEntry
from omniretail.loyalty.services import (
    store_credit_issue,
    store_credit_redeem,
    store_credit_reverse,
)
from omniretail.loyalty.verify import loyalty_verify
from tests.loyalty.conftest import CASHIER_ACTOR, MANAGER_ACTOR, journal

pytestmark = pytest.mark.django_db


def credit(customer) -> Decimal:
    return StoreCreditAccount.objects.get(customer=customer, currency="EUR").balance


def test_credit_from_a_refund_is_the_refunds_tender_side_goodwill_is_an_expense(alice):
    store_credit_issue(
        customer=alice,
        amount=Decimal("30.00"),
        currency="EUR",
        source="refund",
        reference=Reference("refund", "R1"),
        actor=CASHIER_ACTOR,
    )
    assert JournalEntry.objects.count() == 0
    again = store_credit_issue(
        customer=alice,
        amount=Decimal("30.00"),
        currency="EUR",
        source="refund",
        reference=Reference("refund", "R1"),
        actor=CASHIER_ACTOR,
    )
    assert (again.replayed, again.balance) == (True, Decimal("30.00"))

    with pytest.raises(PermissionDenied):
        store_credit_issue(
            customer=alice,
            amount=Decimal("5"),
            currency="EUR",
            source="goodwill",
            reference=Reference("complaint", "C1"),
            actor=CASHIER_ACTOR,
            reason="Late delivery",
        )
    with pytest.raises(ValidationFailed) as exc:
        store_credit_issue(
            customer=alice,
            amount=Decimal("5"),
            currency="EUR",
            source="goodwill",
            reference=Reference("complaint", "C1"),
            actor=MANAGER_ACTOR,
        )
    assert exc.value.field == "reason"
    goodwill = store_credit_issue(
        customer=alice,
        amount=Decimal("5.00"),
        currency="EUR",
        source="goodwill",
        reference=Reference("complaint", "C1"),
        actor=MANAGER_ACTOR,
        reason="Late delivery",
    )
    assert goodwill.balance == Decimal("35.00")
    assert journal("complaint", "C1") == [[("2310", "0.00", "5.00"), ("6100", "5.00", "0.00")]]
    with pytest.raises(ValidationFailed) as exc:
        store_credit_issue(
            customer=alice,
            amount=Decimal("5"),
            currency="EUR",
            source="gift",
            reference=Reference("x", "1"),
            actor=MANAGER_ACTOR,
        )
    assert exc.value.field == "source"


def test_store_credit_pays_once_per_reference_and_refuses_more_than_the_balance(alice):
    store_credit_issue(
        customer=alice,
        amount=Decimal("30.00"),
        currency="EUR",
        source="refund",
        reference=Reference("refund", "R1"),
        actor=CASHIER_ACTOR,
    )
    paid = store_credit_redeem(
        customer=alice,
        amount=Decimal("12.00"),
        currency="EUR",
        reference=Reference("order", "5"),
        actor=CASHIER_ACTOR,
    )
    retry = store_credit_redeem(
        customer=alice,
        amount=Decimal("12.00"),
        currency="EUR",
        reference=Reference("order", "5"),
        actor=CASHIER_ACTOR,
    )
    assert (paid.balance, retry.balance, retry.replayed) == (
        Decimal("18.00"),
        Decimal("18.00"),
        True,
    )
    with pytest.raises(Conflict):
        store_credit_redeem(
            customer=alice,
            amount=Decimal("1.00"),
            currency="EUR",
            reference=Reference("order", "5"),
            actor=CASHIER_ACTOR,
        )
    with pytest.raises(ValidationFailed) as exc:
        store_credit_redeem(
            customer=alice,
            amount=Decimal("18.01"),
            currency="EUR",
            reference=Reference("order", "6"),
            actor=CASHIER_ACTOR,
        )
    assert (exc.value.field, exc.value.extra) == ("amount", {"available": "18.00"})
    with pytest.raises(ValidationFailed) as exc:
        store_credit_redeem(
            customer=alice,
            amount=Decimal("1"),
            currency="USD",
            reference=Reference("order", "6"),
            actor=CASHIER_ACTOR,
        )
    assert (exc.value.field, exc.value.extra) == ("amount", {"available": "0"})
    assert credit(alice) == Decimal("18.00")
    assert StoreCreditEntry.objects.filter(kind="redeem").count() == 1

    back = store_credit_reverse(
        reference=Reference("order", "5"),
        refund_reference=Reference("refund", "R9"),
        amount=Decimal("12.00"),
        actor=CASHIER_ACTOR,
    )
    assert back.balance == Decimal("30.00")
    with pytest.raises(ValidationFailed) as exc:
        store_credit_reverse(
            reference=Reference("order", "5"),
            refund_reference=Reference("refund", "R10"),
            amount=Decimal("0.01"),
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "amount"
    assert JournalEntry.objects.count() == 0
    assert loyalty_verify()[0] == []
