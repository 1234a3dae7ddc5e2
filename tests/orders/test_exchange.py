"""Exchanges: the returned value pays for the replacement; the customer pays
the difference at the till, or the store refunds it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from omniretail.channels.exchanges import exchange_at_till
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM, Actor
from omniretail.core.errors import PermissionDenied, ValidationFailed
from omniretail.core.models import OutboxEvent
from omniretail.core.money import Money
from omniretail.customers.models import Customer
from omniretail.inventory.models import StockLevel, StockMove
from omniretail.orders.models import Order, OrderActivity, Return
from omniretail.orders.returns import ReturnRequestLine, exchange_arithmetic, exchange_quote
from omniretail.payments.models import Payment
from omniretail.verify import verify_all
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

EUR = "EUR"


def _eur(value: str) -> Money:
    return Money(Decimal(value), EUR)


@pytest.fixture
def sale(shop) -> Order:
    """At the till: a white linen shirt in M (49.90) and a mug (12.50)."""
    stock_up(shop, {shop.shirt_m: 3, shop.shirt_l: 3, shop.mug: 5, shop.candle: 2})
    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(1, sku="LS-M"), SaleLine(1, sku="MUG-GR")],
        tenders=[Tender("cash", Decimal("70"))],
        actor=SYSTEM,
        # A known customer: a difference refunded as store credit goes on her account.
        customer_id=Customer.objects.create(first_name="Inès", email="ines@example.com").pk,
    ).order


def _cashier(shop) -> Actor:
    return Actor(label="user:amelie", roles={"cashier": frozenset({shop.store.pk})})


def _shirt_back(sale: Order, shop) -> list[ReturnRequestLine]:
    return [ReturnRequestLine(sale.lines.get(sku=shop.shirt_m).pk, 1, reason="too small")]


def _level(variant, location) -> int:
    return StockLevel.objects.get(sku=variant, location=location).on_hand


def test_the_arithmetic_of_an_exchange():
    up = exchange_arithmetic(refund_total=_eur("49.90"), replacement_total=_eur("62.40"))
    assert (up.difference, up.customer_pays, up.store_refunds) == (
        _eur("12.50"),
        _eur("12.50"),
        _eur("0"),
    )
    down = exchange_arithmetic(refund_total=_eur("49.90"), replacement_total=_eur("18.00"))
    assert (down.difference, down.customer_pays, down.store_refunds) == (
        _eur("-31.90"),
        _eur("0"),
        _eur("31.90"),
    )
    even = exchange_arithmetic(refund_total=_eur("49.90"), replacement_total=_eur("49.90"))
    assert (even.customer_pays, even.store_refunds) == (_eur("0"), _eur("0"))


def test_a_quote_prices_the_replacement_at_todays_prices_and_writes_nothing(shop, sale):
    quote = exchange_quote(
        order=sale,
        return_lines=_shirt_back(sale, shop),
        replacement_lines=[(shop.shirt_l.pk, 1), (shop.candle.pk, 1)],
    )
    assert (quote.refund_total, quote.replacement_total) == (_eur("49.90"), _eur("67.90"))
    assert (quote.difference, quote.customer_pays, quote.store_refunds) == (
        _eur("18.00"),
        _eur("18.00"),
        _eur("0"),
    )
    assert Return.objects.count() == 0
    with pytest.raises(ValidationFailed) as err:
        exchange_quote(
            order=sale,
            return_lines=_shirt_back(sale, shop),
            replacement_lines=[(999_999, 1), (shop.mug.pk, 0)],
        )
    assert {e["field"] for e in err.value.extra["errors"]} == {
        "replacement_lines[0].sku",
        "replacement_lines[1].quantity",
    }


def test_a_dearer_replacement_the_customer_pays_the_difference_in_cash(shop, sale):
    result = exchange_at_till(
        terminal=shop.terminal,
        order=sale,
        return_lines=_shirt_back(sale, shop),
        # the L instead of the M, and a candle on top: 49.90 + 18.00
        replacement_lines=[(shop.shirt_l.pk, 1), (shop.candle.pk, 1)],
        tenders=[Tender("cash", Decimal("20"))],
        actor=_cashier(shop),
        client_uuid=uuid.uuid4(),
    )

    assert (result.amount_due, result.change, result.replayed) == (
        _eur("18.00"),
        _eur("2.00"),
        False,
    )
    ret = result.returned
    assert (ret.number, ret.refund_method, ret.refund_amount) == (
        "RET-000001",
        "exchange",
        Decimal("49.90"),
    )
    new = result.replacement
    assert (new.external_id, new.status, new.channel_id, new.terminal_id) == (
        "exchange-RET-000001",
        "completed",
        shop.pos_channel.pk,
        shop.terminal.pk,
    )
    assert (new.total_gross, new.total_tax, new.total_net) == (
        Decimal("67.90"),
        Decimal("9.26"),  # 8.32 on the shirt + 0.94 on the candle (5.5 %)
        Decimal("58.64"),
    )
    assert [(ln.sku_id, ln.quantity, ln.gross) for ln in new.lines.order_by("line_no")] == [
        (shop.shirt_l.pk, 1, Decimal("49.90")),
        (shop.candle.pk, 1, Decimal("18.00")),
    ]
    ret.refresh_from_db()
    assert ret.replacement_order_id == new.pk
    # The M is back on the shelf, the L and the candle left with the customer.
    assert (
        _level(shop.shirt_m, shop.floor),
        _level(shop.shirt_l, shop.floor),
        _level(shop.candle, shop.floor),
    ) == (3, 2, 1)
    assert StockMove.objects.filter(reference_type="order", reference_id=str(new.pk)).count() == 2
    # The returned shirt paid 49.90 as exchange credit; the till took 18.00 of the 20.
    payments = Payment.objects.filter(order=new).order_by("pk")
    assert [(p.tender, p.amount, p.tendered, p.change) for p in payments] == [
        ("exchange_credit", Decimal("49.90"), Decimal("49.90"), Decimal("0.00")),
        ("cash", Decimal("18.00"), Decimal("20.00"), Decimal("2.00")),
    ]
    # A till sale: the next receipt on the till's series (the first sale has 1).
    assert result.receipt is not None
    assert (result.receipt.number, result.receipt.order_id) == (2, new.pk)
    # No money goes back: the returned value paid for the replacement.
    assert not OutboxEvent.objects.filter(name="refund.requested").exists()
    completed = OutboxEvent.objects.get(name="exchange.completed").payload
    assert completed == {
        "return_id": ret.pk,
        "order_id": sale.pk,
        "replacement_order_id": new.pk,
        "terminal_id": shop.terminal.pk,
        "returned_value": "49.90",
        "replacement_total": "67.90",
        "amount_due": "18.00",
        "refund_due": "0.00",
        "currency": "EUR",
    }
    assert OutboxEvent.objects.get(name="return.accepted").payload["refund_method"] == "exchange"
    assert OrderActivity.objects.get(order=new, kind="exchange").message == (
        f"replacement for RET-000001 of order #{sale.pk}: 49.90 EUR returned, "
        "18.00 EUR paid, 0.00 EUR to refund"
    )
    assert verify_all()[0] == []


def test_a_cheaper_replacement_the_store_refunds_the_difference(shop, sale):
    result = exchange_at_till(
        terminal=shop.terminal,
        order=sale,
        return_lines=_shirt_back(sale, shop),
        replacement_lines=[(shop.candle.pk, 1)],
        tenders=[],
        actor=_cashier(shop),
        client_uuid=uuid.uuid4(),
        refund_method="store_credit",
    )
    assert (result.amount_due, result.quote.store_refunds) == (_eur("0"), _eur("31.90"))
    # The candle is paid by the shirt's value: 18.00 of exchange credit, no money.
    assert list(
        Payment.objects.filter(order=result.replacement).values_list("tender", "amount")
    ) == [("exchange_credit", Decimal("18.00"))]
    refund = OutboxEvent.objects.get(name="refund.requested").payload
    who = ("terminal_id", "requested_by_user_id", "approved_by_user_id", "requested_by_key")
    who += ("at_store_id",)
    assert {k: v for k, v in refund.items() if k not in who} == {
        "order_id": sale.pk,
        "amount": "31.90",
        "currency": "EUR",
        "reason": "exchange RET-000001: the replacement costs less",
        "method": "store_credit",
        "return_id": result.returned.pk,
    }


def test_tenders_must_match_what_is_owed(shop, sale):
    client_uuid = uuid.uuid4()
    with pytest.raises(ValidationFailed) as even:
        exchange_at_till(
            terminal=shop.terminal,
            order=sale,
            return_lines=_shirt_back(sale, shop),
            replacement_lines=[(shop.shirt_l.pk, 1)],
            tenders=[Tender("cash", Decimal("5"))],
            actor=_cashier(shop),
            client_uuid=client_uuid,
        )
    assert even.value.field == "tenders"
    assert "nothing to pay; remove the tenders" in even.value.message
    with pytest.raises(ValidationFailed) as short:
        exchange_at_till(
            terminal=shop.terminal,
            order=sale,
            return_lines=_shirt_back(sale, shop),
            replacement_lines=[(shop.shirt_l.pk, 1), (shop.mug.pk, 1)],
            tenders=[Tender("cash", Decimal("10"))],
            actor=_cashier(shop),
            client_uuid=client_uuid,
        )
    assert short.value.field == "tenders"
    assert "take 2.50 EUR more" in short.value.message
    # Refused twice: nothing changed.
    assert Return.objects.count() == 0
    assert Order.objects.count() == 1
    assert _level(shop.shirt_m, shop.floor) == 2


def test_an_exchange_sent_twice_is_one_exchange(shop, sale):
    kwargs = {
        "terminal": shop.terminal,
        "order": sale,
        "return_lines": _shirt_back(sale, shop),
        "replacement_lines": [(shop.shirt_l.pk, 1)],
        "tenders": [],
        "actor": _cashier(shop),
        "client_uuid": uuid.uuid4(),
    }
    first = exchange_at_till(**kwargs)
    again = exchange_at_till(**kwargs)
    assert again.replayed is True
    assert (again.returned.pk, again.replacement.pk) == (first.returned.pk, first.replacement.pk)
    assert (again.amount_due, again.quote.difference) == (_eur("0"), _eur("0"))
    assert Return.objects.count() == 1
    assert Order.objects.count() == 2
    assert _level(shop.shirt_l, shop.floor) == 2


def test_only_staff_of_this_store_exchange_at_its_till(shop, sale):
    with pytest.raises(PermissionDenied):
        exchange_at_till(
            terminal=shop.terminal,
            order=sale,
            return_lines=_shirt_back(sale, shop),
            replacement_lines=[(shop.shirt_l.pk, 1)],
            tenders=[],
            actor=Actor(label="user:lyon", roles={"cashier": frozenset({shop.store.pk + 1})}),
            client_uuid=uuid.uuid4(),
        )
    assert Return.objects.count() == 0
