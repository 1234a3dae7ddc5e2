"""The points ledger: earn, spend as a tender, reverse on refunds, expire,
adjust — each with its balance, its lots and its books asserted exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.accounting.models import JournalEntry
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import OutboxEvent
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import LoyaltyAccount, LoyaltyEntry
from omniretail.loyalty.services import (
    points_adjust,
    points_earn,
    points_expire,
    points_redeem,
    points_reverse,
)
from omniretail.loyalty.verify import loyalty_verify
from tests.loyalty.conftest import CASHIER_ACTOR, MANAGER_ACTOR, journal

pytestmark = pytest.mark.django_db

SALE_1, SALE_2 = Reference("order", "1"), Reference("order", "2")


def balance(customer) -> int:
    return LoyaltyAccount.objects.get(customer=customer).balance


def lots(customer) -> list[int]:
    return list(
        LoyaltyEntry.objects.filter(account__customer=customer, points__gt=0)
        .order_by("pk")
        .values_list("remaining", flat=True)
    )


def test_a_paid_sale_earns_by_the_customers_group_and_is_booked(program, alice, vip_bob):
    assert (
        points_earn(customer=alice, net_amount=Decimal("49.90"), currency="EUR", reference=SALE_1)
        == 49
    )
    assert (
        points_earn(customer=vip_bob, net_amount=Decimal("49.90"), currency="eur", reference=SALE_2)
        == 99
    )
    assert (balance(alice), balance(vip_bob)) == (49, 99)
    assert journal("order", "1") == [[("2320", "0.00", "0.49"), ("6100", "0.49", "0.00")]]
    assert journal("order", "2") == [[("2320", "0.00", "0.99"), ("6100", "0.99", "0.00")]]
    entry = LoyaltyEntry.objects.get(reference_id="1")
    assert (entry.kind, entry.points, entry.amount, entry.basis, entry.remaining) == (
        "earn",
        49,
        Decimal("0.49"),
        Decimal("49.90"),
        49,
    )
    assert entry.expires_at.date() == (timezone.now() + dt.timedelta(days=365)).date()


def test_earning_twice_for_one_sale_credits_once(program, alice):
    for _ in range(2):
        assert (
            points_earn(customer=alice, net_amount=Decimal("20"), currency="EUR", reference=SALE_1)
            == 20
        )
    assert balance(alice) == 20
    assert LoyaltyEntry.objects.count() == 1
    assert len(journal("order", "1")) == 1


def test_no_programme_in_the_currency_or_nothing_paid_earns_nothing(program, alice):
    assert (
        points_earn(customer=alice, net_amount=Decimal("80"), currency="USD", reference=SALE_1) == 0
    )
    assert (
        points_earn(customer=alice, net_amount=Decimal("0.99"), currency="EUR", reference=SALE_2)
        == 0
    )
    assert LoyaltyEntry.objects.count() == 0
    assert JournalEntry.objects.count() == 0
    with pytest.raises(ValidationFailed) as exc:
        points_earn(customer=alice, net_amount=Decimal("-5"), currency="EUR", reference=SALE_1)
    assert exc.value.field == "net_amount"


def test_points_pay_as_a_tender_once_per_reference_and_the_sale_books_it(program, alice):
    points_earn(customer=alice, net_amount=Decimal("500"), currency="EUR", reference=SALE_1)
    books_before = JournalEntry.objects.count()

    paid = points_redeem(
        customer=alice,
        currency="EUR",
        amount=Decimal("2.50"),
        reference=SALE_2,
        actor=CASHIER_ACTOR,
    )
    assert (paid.points, paid.amount, paid.balance, paid.replayed) == (
        250,
        Decimal("2.50"),
        250,
        False,
    )
    again = points_redeem(
        customer=alice,
        currency="EUR",
        amount=Decimal("2.50"),
        reference=SALE_2,
        actor=CASHIER_ACTOR,
    )
    assert (again.points, again.amount, again.balance, again.replayed) == (
        250,
        Decimal("2.50"),
        250,
        True,
    )
    assert balance(alice) == 250
    # The tender side is the sale's booking: an event for the record, no journal entry here.
    assert JournalEntry.objects.count() == books_before
    assert OutboxEvent.objects.filter(name="loyalty.points_redeemed").count() == 1

    with pytest.raises(Conflict) as exc:
        points_redeem(
            customer=alice, currency="EUR", points=10, reference=SALE_2, actor=CASHIER_ACTOR
        )
    assert exc.value.field == "reference"

    by_points = points_redeem(
        customer=alice,
        currency="EUR",
        points=150,
        reference=Reference("order", "3"),
        actor=CASHIER_ACTOR,
    )
    assert (by_points.amount, by_points.balance) == (Decimal("1.50"), 100)


def test_a_short_balance_is_refused_naming_the_field_and_changes_nothing(program, alice):
    points_earn(customer=alice, net_amount=Decimal("120"), currency="EUR", reference=SALE_1)
    with pytest.raises(ValidationFailed) as exc:
        points_redeem(
            customer=alice,
            currency="EUR",
            amount=Decimal("1.21"),
            reference=SALE_2,
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "amount"
    assert "121 needed, 120 available (worth 1.20 EUR)" in exc.value.message
    assert exc.value.extra == {"available_points": 120, "available_amount": "1.20"}
    with pytest.raises(ValidationFailed) as exc:
        points_redeem(
            customer=alice, currency="EUR", points=121, reference=SALE_2, actor=CASHIER_ACTOR
        )
    assert exc.value.field == "points"
    assert balance(alice) == 120
    assert LoyaltyEntry.objects.filter(kind="redeem").count() == 0
    with pytest.raises(ValidationFailed) as exc:
        points_redeem(
            customer=alice, currency="USD", points=1, reference=SALE_2, actor=CASHIER_ACTOR
        )
    assert exc.value.field == "currency"


def test_spending_uses_the_oldest_lot_first_and_only_the_unspent_points_expire(program, alice):
    day0 = timezone.now()
    points_earn(
        customer=alice, net_amount=Decimal("100"), currency="EUR", reference=SALE_1, now=day0
    )
    points_earn(
        customer=alice,
        net_amount=Decimal("100"),
        currency="EUR",
        reference=SALE_2,
        now=day0 + dt.timedelta(days=100),
    )
    points_redeem(
        customer=alice,
        currency="EUR",
        points=150,
        reference=Reference("order", "3"),
        actor=CASHIER_ACTOR,
    )
    assert lots(alice) == [0, 50]

    assert points_expire(now=day0 + dt.timedelta(days=366)) == 0  # the first lot was spent
    assert balance(alice) == 50
    assert points_expire(now=day0 + dt.timedelta(days=466)) == 1
    assert (balance(alice), lots(alice)) == (0, [0, 0])
    expired = LoyaltyEntry.objects.get(kind="expire")
    assert (expired.points, expired.amount) == (-50, Decimal("-0.50"))
    assert journal("loyalty_expiry") == [[("2320", "0.50", "0.00"), ("4950", "0.00", "0.50")]]
    assert points_expire(now=day0 + dt.timedelta(days=999)) == 0  # idempotent
    assert loyalty_verify()[0] == []


def test_a_refund_takes_back_earned_points_and_puts_back_spent_ones_in_proportion(program, alice):
    points_earn(customer=alice, net_amount=Decimal("600"), currency="EUR", reference=SALE_1)
    # Sale 2: 100.00 net, 5.00 of it paid with 500 points, 100 points earned.
    points_redeem(customer=alice, currency="EUR", points=500, reference=SALE_2, actor=CASHIER_ACTOR)
    points_earn(customer=alice, net_amount=Decimal("100"), currency="EUR", reference=SALE_2)
    assert balance(alice) == 200

    half = points_reverse(
        reference=SALE_2, refund_reference=Reference("refund", "R1"), fraction=Decimal("0.5")
    )
    assert (
        half.restored,
        half.restored_amount,
        half.taken_back,
        half.taken_back_amount,
        half.shortfall,
    ) == (
        250,
        Decimal("2.50"),
        50,
        Decimal("0.50"),
        0,
    )
    assert balance(alice) == 400
    # Only the earned part is booked here; putting back spent points is the refund's tender side.
    assert journal("refund", "R1") == [[("2320", "0.50", "0.00"), ("6100", "0.00", "0.50")]]

    again = points_reverse(
        reference=SALE_2, refund_reference=Reference("refund", "R1"), fraction=Decimal("0.5")
    )
    assert (again.restored, again.taken_back, again.replayed) == (250, 50, True)
    assert balance(alice) == 400

    rest = points_reverse(
        reference=SALE_2, refund_reference=Reference("refund", "R2"), refunded_net=Decimal("50.00")
    )
    assert (rest.restored, rest.taken_back) == (250, 50)
    assert balance(alice) == 600
    with pytest.raises(ValidationFailed) as exc:
        points_reverse(
            reference=SALE_2, refund_reference=Reference("refund", "R3"), fraction=Decimal("0.1")
        )
    assert exc.value.field == "fraction"
    assert balance(alice) == 600
    assert loyalty_verify()[0] == []


def test_three_partial_refunds_of_a_third_take_back_every_point(program, alice):
    points_earn(customer=alice, net_amount=Decimal("100"), currency="EUR", reference=SALE_1)
    third = Decimal(1) / 3
    taken = [
        points_reverse(
            reference=SALE_1, refund_reference=Reference("refund", str(i)), fraction=third
        )
        for i in range(3)
    ]
    assert [t.taken_back for t in taken] == [33, 34, 33]
    assert [t.taken_back_amount for t in taken] == [
        Decimal("0.33"),
        Decimal("0.34"),
        Decimal("0.33"),
    ]
    assert balance(alice) == 0
    assert loyalty_verify()[0] == []


def test_points_already_spent_are_not_clawed_back_below_zero(program, alice):
    points_earn(customer=alice, net_amount=Decimal("100"), currency="EUR", reference=SALE_1)
    points_redeem(customer=alice, currency="EUR", points=80, reference=SALE_2, actor=CASHIER_ACTOR)
    result = points_reverse(
        reference=SALE_1, refund_reference=Reference("refund", "R1"), fraction=Decimal(1)
    )
    assert (result.taken_back, result.shortfall, result.taken_back_amount) == (
        20,
        80,
        Decimal("0.20"),
    )
    assert balance(alice) == 0
    assert journal("refund", "R1") == [[("2320", "0.20", "0.00"), ("6100", "0.00", "0.20")]]
    replay = points_reverse(
        reference=SALE_1, refund_reference=Reference("refund", "R1"), fraction=Decimal(1)
    )
    assert (replay.taken_back, replay.shortfall, replay.replayed) == (20, 80, True)


def test_a_sale_without_points_reverses_nothing(program):
    result = points_reverse(
        reference=SALE_1, refund_reference=Reference("refund", "R1"), fraction=Decimal(1)
    )
    assert (result.taken_back, result.restored, result.shortfall) == (0, 0, 0)
    with pytest.raises(ValidationFailed) as exc:
        points_reverse(reference=SALE_1, refund_reference=Reference("", ""), fraction=Decimal(1))
    assert exc.value.field == "refund_reference"


def test_managers_adjust_points_with_a_reason_booked_and_audited(program, alice):
    added = points_adjust(
        customer=alice, currency="EUR", points=500, reason="Missed scan", actor=MANAGER_ACTOR
    )
    removed = points_adjust(
        customer=alice, currency="EUR", points=-200, reason="Duplicate", actor=MANAGER_ACTOR
    )
    assert balance(alice) == 300
    assert journal("loyalty_entry", str(added.pk)) == [
        [("2320", "0.00", "5.00"), ("6100", "5.00", "0.00")]
    ]
    assert journal("loyalty_entry", str(removed.pk)) == [
        [("2320", "2.00", "0.00"), ("6100", "0.00", "2.00")]
    ]
    with pytest.raises(ValidationFailed) as exc:
        points_adjust(
            customer=alice, currency="EUR", points=-301, reason="Too much", actor=MANAGER_ACTOR
        )
    assert exc.value.field == "points"
    with pytest.raises(ValidationFailed) as exc:
        points_adjust(customer=alice, currency="EUR", points=5, reason=" ", actor=MANAGER_ACTOR)
    assert exc.value.field == "reason"
    with pytest.raises(PermissionDenied):
        points_adjust(customer=alice, currency="EUR", points=5, reason="Nice", actor=CASHIER_ACTOR)
    assert balance(alice) == 300
    from omniretail.core.models import AuditLog

    assert list(
        AuditLog.objects.filter(action="loyalty.points_adjust")
        .values_list("reason", flat=True)
        .order_by("pk")
    ) == [
        "Missed scan",
        "Duplicate",
    ]


def test_verify_names_a_balance_that_disagrees_with_its_ledger(program, alice):
    points_earn(customer=alice, net_amount=Decimal("10"), currency="EUR", reference=SALE_1)
    assert loyalty_verify()[0] == []
    LoyaltyAccount.objects.filter(customer=alice).update(balance=99)
    problems, _ = loyalty_verify()
    account = LoyaltyAccount.objects.get(customer=alice)
    assert problems == [
        f"loyalty: points account #{account.pk} balance 99 != entries 10",
        f"loyalty: points account #{account.pk} balance 99 != unspent lots 10",
    ]


def test_the_worker_runs_both_expiry_jobs_and_the_books_handle_the_events(program, alice):
    from omniretail.wiring import IN_TRANSACTION, PERIODIC

    jobs = dict(PERIODIC)
    points_earn(
        customer=alice,
        net_amount=Decimal("10"),
        currency="EUR",
        reference=SALE_1,
        now=timezone.now() - dt.timedelta(days=400),
    )
    assert jobs["loyalty point lots expired"]() == 1
    assert jobs["gift cards expired"]() == 0
    assert balance(alice) == 0
    assert "loyalty.points_redeemed" not in IN_TRANSACTION  # tender side: booked by the sale
