"""A merged customer's points and store credit follow the customer kept
(handler of `customer.merged`, run in the merge's transaction).

An account of the duplicate in a programme (or currency) the kept customer
has no account in simply changes hands. Otherwise its entries move to the
kept customer's account and its balance is added there, so each balance
still equals the sum of its entries and points lots (`loyalty_verify`).
Lock order as everywhere in loyalty: account rows by pk, then entries.
No journal entry: the liability is the same, only whose it is changes.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from omniretail.core.access import Actor
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict
from omniretail.core.models import OutboxEvent
from omniretail.loyalty.models import (
    LoyaltyAccount,
    LoyaltyEntry,
    StoreCreditAccount,
    StoreCreditEntry,
)


def _points_follow(kept_id: int, duplicate_id: int) -> list[dict[str, object]]:
    accounts = list(
        LoyaltyAccount.objects.select_for_update()
        .select_related("program")
        .filter(customer_id__in=[kept_id, duplicate_id])
        .order_by("pk")
    )
    kept = {a.program_id: a for a in accounts if a.customer_id == kept_id}
    moved: list[dict[str, object]] = []
    for account in accounts:
        if account.customer_id != duplicate_id:
            continue
        target = kept.get(account.program_id)
        if target is None:
            LoyaltyAccount.objects.filter(pk=account.pk).update(customer_id=kept_id)
            moved.append(
                {"program": account.program.code, "points": account.balance, "account": "moved"}
            )
            continue
        entries = LoyaltyEntry.objects.filter(account_id=account.pk).update(account_id=target.pk)
        LoyaltyAccount.objects.filter(pk=target.pk).update(balance=F("balance") + account.balance)
        LoyaltyAccount.objects.filter(pk=account.pk).update(balance=0)
        moved.append(
            {
                "program": account.program.code,
                "points": account.balance,
                "entries": entries,
                "into_account": target.pk,
            }
        )
    return moved


def _store_credit_follow(kept_id: int, duplicate_id: int) -> list[dict[str, object]]:
    accounts = list(
        StoreCreditAccount.objects.select_for_update()
        .filter(customer_id__in=[kept_id, duplicate_id])
        .order_by("pk")
    )
    kept = {a.currency: a for a in accounts if a.customer_id == kept_id}
    moved: list[dict[str, object]] = []
    for account in accounts:
        if account.customer_id != duplicate_id:
            continue
        target = kept.get(account.currency)
        if target is None:
            StoreCreditAccount.objects.filter(pk=account.pk).update(customer_id=kept_id)
            moved.append(
                {"currency": account.currency, "amount": str(account.balance), "account": "moved"}
            )
            continue
        try:
            with transaction.atomic():
                entries = StoreCreditEntry.objects.filter(account_id=account.pk).update(
                    account_id=target.pk
                )
        except IntegrityError:
            raise Conflict(
                f"Both customers hold store credit in {account.currency} issued or spent under "
                "the same reference, so their ledgers cannot be joined; ask an administrator "
                "to look at store credit accounts "
                f"#{target.pk} and #{account.pk}.",
                field="duplicate",
            )
        StoreCreditAccount.objects.filter(pk=target.pk).update(
            balance=F("balance") + account.balance
        )
        StoreCreditAccount.objects.filter(pk=account.pk).update(balance=0)
        moved.append(
            {
                "currency": account.currency,
                "amount": str(account.balance),
                "entries": entries,
                "into_account": target.pk,
            }
        )
    return moved


def on_customer_merged(event: OutboxEvent) -> None:
    kept_id = int(event.payload["kept_id"])
    duplicate_id = int(event.payload["duplicate_id"])
    points = _points_follow(kept_id, duplicate_id)
    credit = _store_credit_follow(kept_id, duplicate_id)
    if points or credit:
        audit_record(
            actor=Actor(label=str(event.payload.get("actor_label", "system"))),
            action="loyalty.customer_merged",
            object_type="customer",
            object_id=kept_id,
            reason=str(event.payload.get("reason", "")),
            data={"duplicate_id": duplicate_id, "points": points, "store_credit": credit},
        )
