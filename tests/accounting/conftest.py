"""Books to report on, posted through the accounting service on fixed days
(February 2025 and its edges) so every figure is known in advance."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from omniretail.accounting.domain import (
    CARD_CLEARING,
    CASH,
    COST_OF_GOODS_SOLD,
    INVENTORY,
    OWNER_EQUITY,
    SALES,
    SALES_DISCOUNTS,
    VAT_PAYABLE,
    Posting,
)
from omniretail.accounting.models import JournalEntry
from omniretail.accounting.services import journal_post
from omniretail.core.access import SYSTEM, Actor
from omniretail.core.models import Channel
from omniretail.core.services import channel_create, membership_grant
from omniretail.orders.models import Order
from tests.conftest import Shop, build_shop, stock_up

PASSWORD = "ledger-and-till-42"
FEB_1, FEB_28 = dt.date(2025, 2, 1), dt.date(2025, 2, 28)


def D(value: str) -> Decimal:
    return Decimal(value)


@dataclass
class Books:
    paris: Shop
    lyon: Shop
    web: Channel
    entries: dict[str, JournalEntry]


def _post(name, day, postings, *, channel=None, store=None, description=None):
    return journal_post(
        date=day,
        description=description or name,
        reference_type="manual",
        reference_id=name,
        currency="EUR",
        postings=postings,
        channel_id=channel.pk if channel else None,
        store_id=store.pk if store else None,
    )


@pytest.fixture
def books(shop) -> Books:
    """January: Paris's opening cash. February: a web sale with its cost, a
    web refund (discount), a Paris till sale; a Lyon sale. March: a Paris sale
    after the range."""
    lyon = build_shop("-lyon")
    web = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    entries = {
        "opening": _post(
            "opening",
            dt.date(2025, 1, 15),
            [Posting(CASH, debit=D("100.00")), Posting(OWNER_EQUITY, credit=D("100.00"))],
            store=shop.store,
        ),
        "web-sale": _post(
            "web-sale",
            dt.date(2025, 2, 3),
            [
                Posting(CARD_CLEARING, debit=D("120.00")),
                Posting(SALES, credit=D("100.00")),
                Posting(VAT_PAYABLE, credit=D("20.00")),
                Posting(COST_OF_GOODS_SOLD, debit=D("40.00")),
                Posting(INVENTORY, credit=D("40.00")),
            ],
            channel=web,
        ),
        "web-refund": _post(
            "web-refund",
            dt.date(2025, 2, 20),
            [
                Posting(SALES_DISCOUNTS, debit=D("10.00")),
                Posting(VAT_PAYABLE, debit=D("2.00")),
                Posting(CARD_CLEARING, credit=D("12.00")),
            ],
            channel=web,
        ),
        "paris-sale": _post(
            "paris-sale",
            FEB_28,
            [
                Posting(CASH, debit=D("60.00")),
                Posting(SALES, credit=D("50.00")),
                Posting(VAT_PAYABLE, credit=D("10.00")),
            ],
            channel=shop.pos_channel,
            store=shop.store,
        ),
        "lyon-sale": _post(
            "lyon-sale",
            dt.date(2025, 2, 10),
            [
                Posting(CASH, debit=D("24.00")),
                Posting(SALES, credit=D("20.00")),
                Posting(VAT_PAYABLE, credit=D("4.00")),
            ],
            channel=lyon.pos_channel,
            store=lyon.store,
        ),
        "paris-march": _post(
            "paris-march",
            dt.date(2025, 3, 2),
            [
                Posting(CASH, debit=D("30.00")),
                Posting(SALES, credit=D("25.00")),
                Posting(VAT_PAYABLE, credit=D("5.00")),
            ],
            channel=shop.pos_channel,
            store=shop.store,
        ),
    }
    return Books(paris=shop, lyon=lyon, web=web, entries=entries)


def till_sale(shop: Shop, lines: list[tuple[str, int]], cash: str) -> Order:
    """A real sale at the shop's till: receipt and journal entry booked today."""
    # Imported here: the till pulls in payments, which colleagues change as we go;
    # the report and export tests on posted entries do not need it.
    from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record

    return pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(quantity, sku=sku) for sku, quantity in lines],
        tenders=[Tender("cash", Decimal(cash))],
        actor=SYSTEM,
    ).order


@pytest.fixture
def till_day(shop) -> Order:
    """Today's first sale in Paris: a shirt and two mugs (stock cost 10.00 each), 80 in cash."""
    stock_up(shop, {shop.shirt_m: 5, shop.mug: 10})
    return till_sale(shop, [("LS-M", 1), ("MUG-GR", 2)], "80.00")


def staff(username: str, role: str, store=None) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    membership_grant(user=user, role=role, store=store)
    return user


def actor(role: str, *store_ids: int) -> Actor:
    return Actor(
        label=f"user:{role}",
        user_id=None,
        roles={role: frozenset(store_ids) if store_ids else None},
    )
