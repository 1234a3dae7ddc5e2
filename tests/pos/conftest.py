from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from omniretail.channels.pos.till import cashier_pin_set
from omniretail.core.access import SYSTEM
from omniretail.core.models import StaffMembership


@dataclass
class Staff:
    cashier: object
    manager: object


def make_staff(shop, suffix: str = "") -> Staff:
    User = get_user_model()
    cashier = User.objects.create_user(f"camille{suffix}", first_name="Camille", is_staff=True)
    manager = User.objects.create_user(f"morgan{suffix}", first_name="Morgan", is_staff=True)
    StaffMembership.objects.create(user=cashier, role="cashier", store=shop.store)
    StaffMembership.objects.create(user=manager, role="store_manager", store=shop.store)
    cashier_pin_set(user_id=cashier.pk, pin="1234", actor=SYSTEM)
    cashier_pin_set(user_id=manager.pk, pin="9876", actor=SYSTEM)
    return Staff(cashier, manager)


@pytest.fixture
def staff(shop) -> Staff:
    return make_staff(shop)
