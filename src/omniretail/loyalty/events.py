"""Past-tense facts of the loyalty ledgers. Amounts are strings (Decimal).

The books (accounting/books_loyalty.py) post a journal entry for the events
that create or remove a liability outside a sale. Tender-side events
(points, gift card or store credit spent on a sale, put back on its refund,
a gift card sold at a till, store credit issued as a refund) are published
for auditing and feeds only: the sale or refund booking moves the liability.
"""

from dataclasses import dataclass
from typing import ClassVar

from omniretail.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class PointsEarned(DomainEvent):
    name: ClassVar[str] = "loyalty.points_earned"
    entry_id: int
    customer_id: int
    points: int
    amount: str
    currency: str
    reference_type: str
    reference_id: str


@dataclass(frozen=True, kw_only=True)
class PointsRedeemed(DomainEvent):
    """Tender side: booked by the sale, not by a loyalty handler."""

    name: ClassVar[str] = "loyalty.points_redeemed"
    entry_id: int
    customer_id: int
    points: int
    amount: str
    currency: str
    reference_type: str
    reference_id: str


@dataclass(frozen=True, kw_only=True)
class PointsReversed(DomainEvent):
    """A refund took back earned points (`taken_back_*`, booked here) and put
    back points spent on the sale (`restored_*`, tender side: booked by the
    refund)."""

    name: ClassVar[str] = "loyalty.points_reversed"
    customer_id: int
    currency: str
    reference_type: str
    reference_id: str
    refund_reference_type: str
    refund_reference_id: str
    taken_back_points: int
    taken_back_amount: str
    shortfall_points: int
    restored_points: int
    restored_amount: str


@dataclass(frozen=True, kw_only=True)
class PointsExpired(DomainEvent):
    name: ClassVar[str] = "loyalty.points_expired"
    program_id: int
    currency: str
    points: int
    amount: str
    lots: int


@dataclass(frozen=True, kw_only=True)
class PointsAdjusted(DomainEvent):
    name: ClassVar[str] = "loyalty.points_adjusted"
    entry_id: int
    customer_id: int
    points: int
    amount: str
    currency: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class GiftCardIssued(DomainEvent):
    """`sold`: paid at a till or online (the sale books the liability);
    otherwise promotional (booked as a loyalty expense)."""

    name: ClassVar[str] = "loyalty.giftcard_issued"
    card_id: int
    amount: str
    currency: str
    sold: bool
    store_id: int | None
    reference_type: str
    reference_id: str


@dataclass(frozen=True, kw_only=True)
class GiftCardRedeemed(DomainEvent):
    """Tender side: booked by the sale."""

    name: ClassVar[str] = "loyalty.giftcard_redeemed"
    card_id: int
    entry_id: int
    amount: str
    currency: str
    reference_type: str
    reference_id: str


@dataclass(frozen=True, kw_only=True)
class GiftCardRefunded(DomainEvent):
    """Tender side: booked by the refund."""

    name: ClassVar[str] = "loyalty.giftcard_refunded"
    card_id: int
    entry_id: int
    amount: str
    currency: str
    reference_type: str
    reference_id: str


@dataclass(frozen=True, kw_only=True)
class GiftCardVoided(DomainEvent):
    name: ClassVar[str] = "loyalty.giftcard_voided"
    card_id: int
    amount: str
    currency: str
    sold: bool
    store_id: int | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class GiftCardsExpired(DomainEvent):
    """Balances left on expired cards of one currency: breakage for sold
    cards, a withdrawn gift for promotional ones."""

    name: ClassVar[str] = "loyalty.giftcards_expired"
    currency: str
    sold_amount: str
    promotional_amount: str
    cards: int


@dataclass(frozen=True, kw_only=True)
class StoreCreditIssued(DomainEvent):
    """`source` "goodwill" is booked as an expense; "refund" is the tender
    side of a refund (booked by the refund)."""

    name: ClassVar[str] = "loyalty.store_credit_issued"
    entry_id: int
    customer_id: int
    amount: str
    currency: str
    source: str
    reason: str
    reference_type: str
    reference_id: str


@dataclass(frozen=True, kw_only=True)
class StoreCreditRedeemed(DomainEvent):
    """Tender side: booked by the sale."""

    name: ClassVar[str] = "loyalty.store_credit_redeemed"
    entry_id: int
    customer_id: int
    amount: str
    currency: str
    reference_type: str
    reference_id: str


@dataclass(frozen=True, kw_only=True)
class StoreCreditReversed(DomainEvent):
    """Store credit spent on a sale put back on its refund. Tender side."""

    name: ClassVar[str] = "loyalty.store_credit_reversed"
    entry_id: int
    customer_id: int
    amount: str
    currency: str
    reference_type: str
    reference_id: str
