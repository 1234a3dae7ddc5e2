"""Gift cards: a bearer code never stored, partial redemption, refunds onto
the card, void and expiry — with the books of each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from omniretail.accounting.models import JournalEntry
from omniretail.core.errors import Conflict, PermissionDenied, ValidationFailed
from omniretail.core.models import AuditLog
from omniretail.loyalty.domain import Reference
from omniretail.loyalty.models import GiftCard, GiftCardEntry
from omniretail.loyalty.selectors import giftcard_balance
from omniretail.loyalty.services import (
    giftcard_issue,
    giftcard_redeem,
    giftcard_refund,
    giftcard_void,
    giftcards_expire,
)
from omniretail.loyalty.verify import loyalty_verify
from tests.loyalty.conftest import CASHIER_ACTOR, MANAGER_ACTOR, journal

pytestmark = pytest.mark.django_db


def sell(amount: str = "50.00", ref: str = "L1", **kw) -> tuple[GiftCard, str]:
    return giftcard_issue(
        amount=Decimal(amount),
        currency="EUR",
        reference=Reference("order_line", ref),
        actor=CASHIER_ACTOR,
        sold=True,
        **kw,
    )


def test_a_sold_card_keeps_only_a_hash_and_the_last_four_and_is_booked_by_the_sale():
    card, code = sell()
    plain = code.replace("-", "")
    assert (card.balance, card.initial_value, card.status, card.sold) == (
        Decimal("50.00"),
        Decimal("50.00"),
        "active",
        True,
    )
    assert card.last4 == plain[-4:]
    stored = GiftCard.objects.filter(pk=card.pk).values().get()
    assert all(plain not in str(v) and code not in str(v) for v in stored.values())
    assert JournalEntry.objects.count() == 0  # the sale line books the liability
    assert giftcard_balance(code=code.lower(), actor=CASHIER_ACTOR).balance == Decimal("50.00")
    with pytest.raises(Conflict) as exc:
        sell(ref="L1")
    assert exc.value.field == "reference"
    assert GiftCard.objects.count() == 1


def test_a_promotional_card_is_a_loyalty_expense_and_is_audited():
    card, _ = giftcard_issue(
        amount=Decimal("25.00"),
        currency="EUR",
        reference=Reference("campaign", "spring"),
        actor=MANAGER_ACTOR,
        sold=False,
        reason="Spring mailing winner",
    )
    assert journal("gift_card", str(card.pk)) == [
        [("2300", "0.00", "25.00"), ("6100", "25.00", "0.00")]
    ]
    assert (
        AuditLog.objects.get(action="loyalty.giftcard_issue_promotional").reason
        == "Spring mailing winner"
    )
    with pytest.raises(PermissionDenied):
        giftcard_issue(
            amount=Decimal("5"),
            currency="EUR",
            reference=Reference("campaign", "x"),
            actor=CASHIER_ACTOR,
            sold=False,
            reason="friend",
        )


def test_partial_redemption_once_per_reference_and_a_clear_refusal_beyond_the_balance():
    card, code = sell()
    paid = giftcard_redeem(
        code=code, amount=Decimal("20.00"), reference=Reference("order", "7"), actor=CASHIER_ACTOR
    )
    assert (paid.amount, paid.balance, paid.last4, paid.replayed) == (
        Decimal("20.00"),
        Decimal("30.00"),
        card.last4,
        False,
    )
    retry = giftcard_redeem(
        code=code, amount=Decimal("20.00"), reference=Reference("order", "7"), actor=CASHIER_ACTOR
    )
    assert (retry.balance, retry.replayed, retry.entry_id) == (
        Decimal("30.00"),
        True,
        paid.entry_id,
    )

    with pytest.raises(ValidationFailed) as exc:
        giftcard_redeem(
            code=code,
            amount=Decimal("30.01"),
            reference=Reference("order", "8"),
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "amount"
    assert f"…{card.last4} has 30.00 EUR left" in exc.value.message
    assert exc.value.extra == {"available": "30.00"}
    assert GiftCardEntry.objects.filter(kind="redeem").count() == 1
    card.refresh_from_db()
    assert card.balance == Decimal("30.00")
    assert JournalEntry.objects.count() == 0  # tender side: the sale books it


def test_wrong_codes_name_the_code_field():
    _, code = sell()
    plain = code.replace("-", "")
    typo = plain[:-2] + plain[-1] + plain[-2] if plain[-1] != plain[-2] else plain[:-1] + "Z"
    for bad in ("", "ABCD", typo, "O" * 17):
        with pytest.raises(ValidationFailed) as exc:
            giftcard_redeem(
                code=bad,
                amount=Decimal("1"),
                reference=Reference("order", "1"),
                actor=CASHIER_ACTOR,
            )
        assert exc.value.field == "code"
    with pytest.raises(ValidationFailed) as exc:
        giftcard_redeem(
            code=code,
            amount=Decimal("1"),
            currency="USD",
            reference=Reference("order", "1"),
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "currency"
    with pytest.raises(ValidationFailed) as exc:
        giftcard_redeem(
            code=code,
            amount=Decimal("1.005"),
            reference=Reference("order", "1"),
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "amount"


def test_a_refund_puts_money_back_on_the_card_at_most_what_it_paid():
    card, code = sell()
    sale = Reference("order", "7")
    giftcard_redeem(code=code, amount=Decimal("40.00"), reference=sale, actor=CASHIER_ACTOR)
    back = giftcard_refund(
        reference=sale,
        refund_reference=Reference("refund", "R1"),
        amount=Decimal("15.00"),
        actor=CASHIER_ACTOR,
    )
    assert (back.amount, back.balance, back.card_id) == (
        Decimal("15.00"),
        Decimal("25.00"),
        card.pk,
    )
    again = giftcard_refund(
        reference=sale,
        refund_reference=Reference("refund", "R1"),
        amount=Decimal("15.00"),
        actor=CASHIER_ACTOR,
    )
    assert (again.replayed, again.balance) == (True, Decimal("25.00"))
    with pytest.raises(ValidationFailed) as exc:
        giftcard_refund(
            reference=sale,
            refund_reference=Reference("refund", "R2"),
            amount=Decimal("25.01"),
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "amount"
    assert "At most 25.00 EUR" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        giftcard_refund(
            reference=Reference("order", "nope"),
            refund_reference=Reference("refund", "R2"),
            amount=Decimal("1"),
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "reference"
    card.refresh_from_db()
    assert card.balance == Decimal("25.00")
    assert JournalEntry.objects.count() == 0
    assert loyalty_verify()[0] == []


def test_cards_expire_on_their_date_and_the_rest_becomes_breakage():
    now = timezone.now()
    sold, sold_code = sell(expires_at=now + dt.timedelta(days=30))
    _promo, _ = giftcard_issue(
        amount=Decimal("10.00"),
        currency="EUR",
        reference=Reference("campaign", "c1"),
        actor=MANAGER_ACTOR,
        sold=False,
        reason="Apology",
        expires_at=now + dt.timedelta(days=30),
    )
    never, _ = sell(ref="L2")
    giftcard_redeem(
        code=sold_code,
        amount=Decimal("12.50"),
        reference=Reference("order", "1"),
        actor=CASHIER_ACTOR,
    )

    assert giftcards_expire(now=now + dt.timedelta(days=29)) == 0
    assert giftcards_expire(now=now + dt.timedelta(days=31)) == 2
    sold.refresh_from_db()
    never.refresh_from_db()
    assert (sold.status, sold.balance, never.status) == ("expired", Decimal("0.00"), "active")
    assert journal("giftcard_expiry") == [
        [("2300", "47.50", "0.00"), ("4950", "0.00", "37.50"), ("6100", "0.00", "10.00")]
    ]
    assert giftcards_expire(now=now + dt.timedelta(days=60)) == 0
    with pytest.raises(ValidationFailed) as exc:
        giftcard_redeem(
            code=sold_code,
            amount=Decimal("1"),
            reference=Reference("order", "2"),
            actor=CASHIER_ACTOR,
        )
    assert exc.value.field == "code"
    assert "expired" in exc.value.message
    assert loyalty_verify()[0] == []


def test_a_card_past_its_date_is_refused_before_the_expiry_job_runs():
    card, code = sell()
    GiftCard.objects.filter(pk=card.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as exc:
        giftcard_redeem(
            code=code, amount=Decimal("1"), reference=Reference("order", "1"), actor=CASHIER_ACTOR
        )
    assert exc.value.field == "code"


def test_voiding_forfeits_the_balance_audited_and_booked():
    card, code = sell()
    giftcard_redeem(
        code=code, amount=Decimal("10.00"), reference=Reference("order", "1"), actor=CASHIER_ACTOR
    )
    with pytest.raises(PermissionDenied):
        giftcard_void(card_id=card.pk, reason="Stolen", actor=CASHIER_ACTOR)
    voided = giftcard_void(card_id=card.pk, reason="Reported stolen", actor=MANAGER_ACTOR)
    assert (voided.status, voided.balance) == ("void", Decimal("0.00"))
    assert journal("gift_card", str(card.pk)) == [
        [("2300", "40.00", "0.00"), ("4950", "0.00", "40.00")]
    ]
    assert AuditLog.objects.get(action="loyalty.giftcard_void").data["forfeited"] == "40.00"
    with pytest.raises(Conflict):
        giftcard_void(card_id=card.pk, reason="again", actor=MANAGER_ACTOR)
    with pytest.raises(ValidationFailed) as exc:
        giftcard_redeem(
            code=code, amount=Decimal("1"), reference=Reference("order", "2"), actor=CASHIER_ACTOR
        )
    assert (exc.value.field, "void" in exc.value.message) == ("code", True)
    assert loyalty_verify()[0] == []
