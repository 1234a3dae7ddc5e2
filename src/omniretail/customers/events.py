"""Past-tense facts about customers. The apps that hold a customer's history
(orders, loyalty) follow them in the same transaction (wiring.py): a merge
moves their rows to the customer kept; an erasure anonymises their copies of
the person's details, or refuses (and so rolls the erasure back)."""

from dataclasses import dataclass
from typing import ClassVar

from omniretail.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CustomerMerged(DomainEvent):
    name: ClassVar[str] = "customer.merged"
    kept_id: int
    duplicate_id: int
    reason: str
    actor_label: str


@dataclass(frozen=True, kw_only=True)
class CustomerErased(DomainEvent):
    """No personal data in the payload: the outbox keeps it."""

    name: ClassVar[str] = "customer.erased"
    customer_ids: list[int]
    actor_label: str
