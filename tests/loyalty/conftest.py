"""Loyalty fixtures: a programme in EUR (100 points = 1.00, points expire
after a year), 1 point per euro for everyone and 2 for VIPs; people at a till."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.accounting.models import JournalEntry
from omniretail.core.access import CASHIER, STORE_MANAGER, Actor
from omniretail.customers.models import Customer, CustomerGroup
from omniretail.loyalty.models import EarningRule, LoyaltyProgram

CASHIER_ACTOR = Actor(label="user:cashier", roles={CASHIER: None})
MANAGER_ACTOR = Actor(label="user:manager", roles={STORE_MANAGER: None})


@pytest.fixture
def program(db) -> LoyaltyProgram:
    program = LoyaltyProgram.objects.create(
        code="club", name="Acme Club", currency="EUR", point_value=Decimal("0.01"), expiry_days=365
    )
    vip = CustomerGroup.objects.create(code="vip", name="VIP")
    EarningRule.objects.create(program=program, group=None, points_per_unit=Decimal("1"))
    EarningRule.objects.create(program=program, group=vip, points_per_unit=Decimal("2"))
    return program


@pytest.fixture
def alice(db) -> Customer:
    return Customer.objects.create(
        first_name="Alice", last_name="Martin", email="alice@example.com"
    )


@pytest.fixture
def vip_bob(program) -> Customer:
    return Customer.objects.create(
        first_name="Bob", email="bob@example.com", group=CustomerGroup.objects.get(code="vip")
    )


def journal(
    reference_type: str, reference_id: str | None = None
) -> list[list[tuple[str, str, str]]]:
    """Each entry's lines as (account, debit, credit), oldest entry first."""
    entries = JournalEntry.objects.filter(reference_type=reference_type)
    if reference_id is not None:
        entries = entries.filter(reference_id=reference_id)
    return [
        sorted(
            (line.account.code, str(line.debit), str(line.credit))
            for line in entry.lines.select_related("account")
        )
        for entry in entries.order_by("pk")
    ]
