"""Past-tense facts of payments and cash drawers (published to the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CardAuthorised(DomainEvent):
    name: ClassVar[str] = "payment.card_authorised"
    payment_id: int
    order_id: int
    gateway: str
    amount: str
    currency: str
    captured: bool


@dataclass(frozen=True, kw_only=True)
class PaymentCaptured(DomainEvent):
    """A card authorisation was captured (by us, or reported by the gateway)."""

    name: ClassVar[str] = "payment.captured"
    payment_id: int
    order_id: int
    gateway: str
    amount: str
    currency: str
    source: str  # "service" or "webhook"


@dataclass(frozen=True, kw_only=True)
class PaymentVoided(DomainEvent):
    name: ClassVar[str] = "payment.voided"
    payment_id: int
    order_id: int
    gateway: str
    amount: str
    currency: str
    source: str


@dataclass(frozen=True, kw_only=True)
class PaymentRefunded(DomainEvent):
    """Money went back to the customer on a payment's own tender. For
    `status == "requested"` (gift card, store credit, points, check, on
    account) the tender's owner must still carry it out: route it."""

    name: ClassVar[str] = "payment.refunded"
    refund_id: int
    payment_id: int
    order_id: int
    tender: str
    status: str
    amount: str
    currency: str
    store_id: int | None
    terminal_id: int | None
    drawer_session_id: int | None
    source: str


@dataclass(frozen=True, kw_only=True)
class DrawerOpened(DomainEvent):
    name: ClassVar[str] = "drawer.opened"
    session_id: int
    terminal_id: int
    store_id: int
    float_amount: str
    currency: str


@dataclass(frozen=True, kw_only=True)
class DrawerPaid(DomainEvent):
    """Cash paid into or out of a drawer (kind "in" or "out")."""

    name: ClassVar[str] = "drawer.paid"
    movement_id: int
    session_id: int
    terminal_id: int
    store_id: int
    kind: str
    amount: str
    currency: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DrawerClosed(DomainEvent):
    """A drawer was counted and closed; `over_short` = counted − expected."""

    name: ClassVar[str] = "drawer.closed"
    session_id: int
    terminal_id: int
    store_id: int
    z_report: str
    expected_cash: str
    counted_total: str
    over_short: str
    currency: str


@dataclass(frozen=True, kw_only=True)
class PaymentReceived(DomainEvent):
    """A tender other than a card (cash, gift card, points, store credit,
    check, on account) paid part of an order."""

    name: ClassVar[str] = "payment.received"
    payment_id: int
    order_id: int
    tender: str
    amount: str
    currency: str
