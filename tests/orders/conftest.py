from __future__ import annotations

import pytest

from omniretail.core.apikeys import api_key_issue
from omniretail.core.services import channel_create
from omniretail.inventory.models import ChannelLocation


@pytest.fixture
def web(shop):
    """The web shop sells from the warehouse first, then the Paris store
    keeping 1 unit back for walk-ins."""
    channel = channel_create(company=shop.company, code="web", name="Web shop", kind="web")
    ChannelLocation.objects.create(channel=channel, location=shop.warehouse, priority=1)
    ChannelLocation.objects.create(
        channel=channel, location=shop.floor, priority=2, safety_buffer=1
    )
    return channel


@pytest.fixture
def web_key(web) -> str:
    return api_key_issue(
        name="web shop", channel=web, scopes=["orders:write", "orders:read", "stock:read"]
    ).token


@pytest.fixture
def marketplace(shop):
    channel = channel_create(
        company=shop.company, code="mkt", name="Marketplace", kind="marketplace"
    )
    ChannelLocation.objects.create(channel=channel, location=shop.warehouse, priority=1)
    return channel


@pytest.fixture
def marketplace_key(marketplace) -> str:
    return api_key_issue(
        name="marketplace connector", channel=marketplace, scopes=["orders:write", "orders:read"]
    ).token
