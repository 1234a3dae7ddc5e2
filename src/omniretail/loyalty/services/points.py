"""The points ledger: earn on a paid sale, spend as a tender, reverse on a
refund, expire, adjust.

A balance changes only by a conditional UPDATE (`balance >= q` to spend) in
the transaction that writes the entry explaining it. Lots (positive
entries) are used up oldest-expiring first, always while the account row is
locked (by that UPDATE or by select_for_update), so `remaining` never races.
Lock order everywhere: account rows (by pk), then entry rows (by pk).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from omniretail.core.access import SYSTEM, Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.money import quantum, to_decimal
from omniretail.customers.models import Customer
from omniretail.loyalty.domain import (
    FRACTION_PLACES,
    Reference,
    fraction_add,
    points_due,
    points_for,
    points_needed,
    points_value,
    points_value_down,
)
from omniretail.loyalty.events import (
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsRedeemed,
    PointsReversed,
)
from omniretail.loyalty.models import EarningRule, LoyaltyAccount, LoyaltyEntry, LoyaltyProgram
from omniretail.loyalty.services.common import currency_code, money_amount, reference_check

Kind = LoyaltyEntry.Kind


@dataclass(frozen=True)
class PointsRedemption:
    entry_id: int
    points: int
    amount: Decimal
    currency: str
    balance: int
    replayed: bool = False


@dataclass(frozen=True)
class PointsReversal:
    """What a refund did to points: earned points taken back (`shortfall`:
    those already spent, which stay with the customer), spent points put back."""

    taken_back: int
    taken_back_amount: Decimal
    shortfall: int
    restored: int
    restored_amount: Decimal
    currency: str
    replayed: bool = False


def program_for(currency: str) -> LoyaltyProgram | None:
    return LoyaltyProgram.objects.filter(currency=currency, active=True).first()


def _program_or_refuse(currency: str) -> LoyaltyProgram:
    program = program_for(currency)
    if program is None:
        raise ValidationFailed(
            f"No active loyalty programme in {currency}; points can be spent only in the "
            "programme's currency.",
            field="currency",
        )
    return program


def _account(customer: Customer, program: LoyaltyProgram) -> LoyaltyAccount:
    account, _ = LoyaltyAccount.objects.get_or_create(customer=customer, program=program)
    return account


def _expiry(program: LoyaltyProgram, now: dt.datetime) -> dt.datetime | None:
    return now + dt.timedelta(days=program.expiry_days) if program.expiry_days else None


def _consume_lots(account_id: int, points: int, first_lot_id: int | None = None) -> None:
    """Use up `points` from the account's lots, oldest-expiring first (a
    reversed earning first from its own lot). Call with the account row locked."""
    lots = list(
        LoyaltyEntry.objects.filter(account_id=account_id, remaining__gt=0).order_by(
            F("expires_at").asc(nulls_last=True), "pk"
        )
    )
    lots.sort(key=lambda lot: lot.pk != first_lot_id)  # stable: keeps FIFO behind it
    left = points
    touched = []
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        touched.append(lot)
    if left:
        raise RuntimeError(
            f"loyalty account #{account_id}: lots hold {points - left} points, {points} needed "
            "(balance and lots disagree; run omni verify)"
        )
    LoyaltyEntry.objects.bulk_update(touched, ["remaining"])


def _debit(account_id: int, points: int) -> bool:
    return bool(
        LoyaltyAccount.objects.filter(pk=account_id, balance__gte=points).update(
            balance=F("balance") - points
        )
    )


def _credit(account_id: int, points: int) -> None:
    LoyaltyAccount.objects.filter(pk=account_id).update(balance=F("balance") + points)


@transaction.atomic
def points_earn(
    *,
    customer: Customer,
    net_amount: Decimal,
    currency: str,
    reference: Reference,
    actor: Actor = SYSTEM,
    now: dt.datetime | None = None,
) -> int:
    """Credit the points a paid sale earns (by the customer's group rule) and
    return them. 0 when no programme runs in the currency or no rule applies.
    Once per reference: a retry returns the points of the first call."""
    currency = currency_code(currency)
    reference_check(reference)
    try:
        net = to_decimal(net_amount, field="net_amount")
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="net_amount")
    if net < 0:
        raise ValidationFailed(
            "net_amount is the net amount paid and cannot be negative; reverse points on a "
            "refund with points_reverse.",
            field="net_amount",
        )
    program = program_for(currency)
    if program is None:
        return 0
    # The customer's group rule, else the rule for everyone.
    rules: dict[int | None, Decimal] = dict(
        EarningRule.objects.filter(program=program)
        .filter(Q(group__isnull=True) | Q(group_id=customer.group_id))
        .values_list("group_id", "points_per_unit")
    )
    rate = rules[customer.group_id] if customer.group_id in rules else rules.get(None)
    points = points_for(net, rate or Decimal(0))
    if points == 0:
        return 0
    account = _account(customer, program)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            entry = LoyaltyEntry.objects.create(
                account=account,
                kind=Kind.EARN,
                points=points,
                amount=points_value(points, program.point_value, quantum(currency)),
                reference_type=reference.type,
                reference_id=reference.id,
                basis=net,
                remaining=points,
                expires_at=_expiry(program, now),
                actor_label=actor.label,
            )
    except IntegrityError:
        first = LoyaltyEntry.objects.get(
            kind=Kind.EARN, reference_type=reference.type, reference_id=reference.id
        )
        if first.account_id != account.pk:
            raise Conflict(
                f"Points for {reference} were already earned by another customer.",
                field="reference",
            )
        return first.points
    _credit(account.pk, points)
    event_publish(
        PointsEarned(
            entry_id=entry.pk,
            customer_id=customer.pk,
            points=points,
            amount=str(entry.amount),
            currency=currency,
            reference_type=reference.type,
            reference_id=reference.id,
        )
    )
    return points


@transaction.atomic
def points_redeem(
    *,
    customer: Customer,
    currency: str,
    reference: Reference,
    actor: Actor,
    points: int | None = None,
    amount: Decimal | None = None,
) -> PointsRedemption:
    """Spend points as a tender, given as points or as the money amount to
    pay; returns the money value. Once per reference: a retry returns the
    first redemption and debits nothing."""
    require(actor, "loyalty.redeem")
    currency = currency_code(currency)
    reference_check(reference)
    program = _program_or_refuse(currency)
    q = quantum(currency)
    if (points is None) == (amount is None):
        raise ValidationFailed("Send either points or amount (not both).", field="points")
    if amount is not None:
        field = "amount"
        value = money_amount(amount, currency)
        needed = points_needed(value, program.point_value)
    else:
        field = "points"
        if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
            raise ValidationFailed(
                f"points must be a whole number above 0 (got {points!r}).", field="points"
            )
        needed = points
        value = points_value_down(needed, program.point_value, q)
        if value <= 0:
            smallest = points_needed(q, program.point_value)
            raise ValidationFailed(
                f"{needed} points are worth less than {q} {currency}; redeem at least "
                f"{smallest} points.",
                field="points",
            )
    account = _account(customer, program)
    try:
        with transaction.atomic():
            entry = LoyaltyEntry.objects.create(
                account=account,
                kind=Kind.REDEEM,
                points=-needed,
                amount=-value,
                reference_type=reference.type,
                reference_id=reference.id,
                actor_label=actor.label,
            )
    except IntegrityError:
        first = LoyaltyEntry.objects.select_related("account").get(
            kind=Kind.REDEEM, reference_type=reference.type, reference_id=reference.id
        )
        if first.account_id != account.pk or first.points != -needed:
            raise Conflict(
                f"Points were already redeemed for {reference} ({-first.points} points); "
                "use a new reference for another redemption.",
                field="reference",
            )
        return PointsRedemption(
            first.pk, needed, -first.amount, currency, first.account.balance, replayed=True
        )
    if not _debit(account.pk, needed):
        balance = LoyaltyAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
        worth = points_value_down(balance, program.point_value, q)
        raise ValidationFailed(
            f"Not enough points: {needed} needed, {balance} available (worth {worth} "
            f"{currency}). Redeem at most {balance} points or pay the rest with another tender.",
            field=field,
            available_points=balance,
            available_amount=str(worth),
        )
    _consume_lots(account.pk, needed)
    event_publish(
        PointsRedeemed(
            entry_id=entry.pk,
            customer_id=customer.pk,
            points=needed,
            amount=str(value),
            currency=currency,
            reference_type=reference.type,
            reference_id=reference.id,
        )
    )
    balance = LoyaltyAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
    return PointsRedemption(entry.pk, needed, value, currency, balance)


def _reversal_fraction(
    originals: list[LoyaltyEntry], fraction: Decimal | None, refunded_net: Decimal | None
) -> tuple[Decimal, str]:
    if (fraction is None) == (refunded_net is None):
        raise ValidationFailed("Send either fraction or refunded_net (not both).", field="fraction")
    if fraction is not None:
        try:
            f = to_decimal(fraction, field="fraction")
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="fraction")
        field = "fraction"
    else:
        try:
            refunded = to_decimal(refunded_net, field="refunded_net")
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="refunded_net")
        earned = [o for o in originals if o.kind == Kind.EARN]
        if not earned or not earned[0].basis:
            raise ValidationFailed(
                "No points were earned on this sale, so refunded_net cannot be turned into a "
                "share; send fraction = refunded net / sale net instead.",
                field="refunded_net",
            )
        f = (refunded / earned[0].basis).quantize(FRACTION_PLACES, rounding=ROUND_HALF_UP)
        field = "refunded_net"
    if f <= 0 or f > 1:
        raise ValidationFailed(
            f"{field} must be a share of the sale above 0 and at most all of it.", field=field
        )
    return f, field


def _share(amount: Decimal, part: int, whole: int, q: Decimal) -> Decimal:
    """The money value of `part` of `whole` points worth `amount` together;
    shares of successive parts add up to `amount` exactly."""
    return (abs(amount) * part / whole).quantize(q, rounding=ROUND_HALF_UP)


def _reversal_result(entries: list[LoyaltyEntry], currency: str, replayed: bool) -> PointsReversal:
    taken = [e for e in entries if e.points < 0 or e.shortfall]
    restored = [e for e in entries if e.points > 0]
    return PointsReversal(
        taken_back=sum(-e.points for e in taken),
        taken_back_amount=sum((-e.amount for e in taken), Decimal(0)),
        shortfall=sum(e.shortfall for e in entries),
        restored=sum(e.points for e in restored),
        restored_amount=sum((e.amount for e in restored), Decimal(0)),
        currency=currency,
        replayed=replayed,
    )


@transaction.atomic
def points_reverse(
    *,
    reference: Reference,
    refund_reference: Reference,
    actor: Actor = SYSTEM,
    fraction: Decimal | None = None,
    refunded_net: Decimal | None = None,
    now: dt.datetime | None = None,
) -> PointsReversal:
    """On a refund of the sale `reference`: take back the refunded share of
    the points it earned, and put back the same share of the points spent on
    it. Shares add up over several refunds (all of them = every point).
    Earned points the customer has already spent are not clawed back (the
    balance never goes below 0): they are reported as `shortfall`.
    Once per refund_reference; a sale without points gives all zeros."""
    reference_check(reference)
    reference_check(refund_reference, field="refund_reference")
    candidates = list(
        LoyaltyEntry.objects.filter(
            kind__in=[Kind.EARN, Kind.REDEEM],
            reference_type=reference.type,
            reference_id=reference.id,
        ).values_list("pk", "account_id")
    )
    if not candidates:
        return PointsReversal(0, Decimal(0), 0, 0, Decimal(0), "")
    accounts = {
        a.pk: a
        for a in LoyaltyAccount.objects.select_for_update()
        .select_related("program")
        .filter(pk__in={acc for _, acc in candidates})
        .order_by("pk")
    }
    originals = list(
        LoyaltyEntry.objects.select_for_update()
        .filter(pk__in=[pk for pk, _ in candidates])
        .order_by("pk")
    )
    program = next(iter(accounts.values())).program
    currency = program.currency
    done = list(
        LoyaltyEntry.objects.filter(
            kind=Kind.REVERSE,
            reverses__in=originals,
            reference_type=refund_reference.type,
            reference_id=refund_reference.id,
        )
    )
    if done:
        return _reversal_result(done, currency, replayed=True)
    f, field = _reversal_fraction(originals, fraction, refunded_net)
    now = now or timezone.now()
    q = quantum(currency)
    before = dict(
        LoyaltyEntry.objects.filter(kind=Kind.REVERSE, reverses__in=originals)
        .values("reverses_id")
        .annotate(moved=Sum("points"))
        .values_list("reverses_id", "moved")
    )
    made: list[LoyaltyEntry] = []
    # Spent points go back first, so a refund that also takes back earned
    # points can take them from what it returned.
    originals.sort(key=lambda o: (o.kind != Kind.REDEEM, o.pk))
    for original in originals:
        cumulative = fraction_add(original.reversed_fraction, f)
        if cumulative is None:
            left = (1 - original.reversed_fraction).quantize(Decimal("0.0001"))
            raise ValidationFailed(
                f"Only {left} of {reference} is left to reverse; check the refunded share.",
                field=field,
            )
        whole = abs(original.points)
        due = points_due(whole, cumulative) - original.reversed_points
        moved = abs(before.get(original.pk) or 0)
        account = accounts[original.account_id]
        entry = LoyaltyEntry(
            account=account,
            kind=Kind.REVERSE,
            reference_type=refund_reference.type,
            reference_id=refund_reference.id,
            reverses=original,
            actor_label=actor.label,
        )
        if original.kind == Kind.REDEEM:
            entry.points = due
            entry.amount = _share(original.amount, moved + due, whole, q) - _share(
                original.amount, moved, whole, q
            )
            entry.remaining, entry.expires_at = due, _expiry(program, now)
            if due:
                _credit(account.pk, due)
            account.balance += due
        else:
            take = min(due, account.balance)
            entry.points = -take
            entry.amount = _share(original.amount, moved, whole, q) - _share(
                original.amount, moved + take, whole, q
            )
            if take < due:
                entry.shortfall = due - take
                entry.reason = f"{due - take} of the points earned were already spent"
            if take:
                if not _debit(account.pk, take):
                    raise RuntimeError(f"loyalty account #{account.pk} changed while locked")
                _consume_lots(account.pk, take, first_lot_id=original.pk)
            account.balance -= take
        entry.save(force_insert=True)
        made.append(entry)
        LoyaltyEntry.objects.filter(pk=original.pk).update(
            reversed_fraction=cumulative, reversed_points=original.reversed_points + due
        )
    for account_id, account in sorted(accounts.items()):
        mine = _reversal_result([e for e in made if e.account_id == account_id], currency, False)
        event_publish(
            PointsReversed(
                customer_id=account.customer_id,
                currency=currency,
                reference_type=reference.type,
                reference_id=reference.id,
                refund_reference_type=refund_reference.type,
                refund_reference_id=refund_reference.id,
                taken_back_points=mine.taken_back,
                taken_back_amount=str(mine.taken_back_amount),
                shortfall_points=mine.shortfall,
                restored_points=mine.restored,
                restored_amount=str(mine.restored_amount),
            )
        )
    return _reversal_result(made, currency, replayed=False)


def points_expire(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Expire the unspent points of every lot past its date, oldest first, in
    batches of one transaction each. Idempotent: an expired lot has nothing
    left. Returns the number of lots expired."""
    now = now or timezone.now()
    expired = 0
    while True:
        found, done = _points_expire_batch(now, batch)
        expired += done
        if found < batch:
            return expired


@transaction.atomic
def _points_expire_batch(now: dt.datetime, batch: int) -> tuple[int, int]:
    due = list(
        LoyaltyEntry.objects.filter(remaining__gt=0, expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("pk", "account_id")[:batch]
    )
    if not due:
        return 0, 0
    accounts = {
        a.pk: a
        for a in LoyaltyAccount.objects.select_for_update()
        .select_related("program")
        .filter(pk__in={acc for _, acc in due})
        .order_by("pk")
    }
    lots = list(
        LoyaltyEntry.objects.select_for_update()
        .filter(pk__in=[pk for pk, _ in due], remaining__gt=0)
        .order_by("pk")
    )
    entries: list[LoyaltyEntry] = []
    per_account: dict[int, int] = defaultdict(int)
    per_program: dict[int, dict[str, Decimal]] = defaultdict(
        lambda: {"points": Decimal(0), "amount": Decimal(0), "lots": Decimal(0)}
    )
    for lot in lots:
        program = accounts[lot.account_id].program
        value = points_value(lot.remaining, program.point_value, quantum(program.currency))
        entries.append(
            LoyaltyEntry(
                account_id=lot.account_id,
                kind=Kind.EXPIRE,
                points=-lot.remaining,
                amount=-value,
                reference_type="lot",
                reference_id=str(lot.pk),
                reverses=lot,
                actor_label=SYSTEM.label,
            )
        )
        per_account[lot.account_id] += lot.remaining
        totals = per_program[program.pk]
        totals["points"] += lot.remaining
        totals["amount"] += value
        totals["lots"] += 1
        lot.remaining = 0
    LoyaltyEntry.objects.bulk_create(entries)
    LoyaltyEntry.objects.bulk_update(lots, ["remaining"])
    for account_id, points in sorted(per_account.items()):
        if not _debit(account_id, points):
            raise RuntimeError(f"loyalty account #{account_id} holds less than its lots")
    programs = {a.program.pk: a.program for a in accounts.values()}
    for program_id, totals in sorted(per_program.items()):
        event_publish(
            PointsExpired(
                program_id=program_id,
                currency=programs[program_id].currency,
                points=int(totals["points"]),
                amount=str(totals["amount"]),
                lots=int(totals["lots"]),
            )
        )
    return len(due), len(lots)


@transaction.atomic
def points_adjust(
    *,
    customer: Customer,
    currency: str,
    points: int,
    reason: str,
    actor: Actor,
    now: dt.datetime | None = None,
) -> LoyaltyEntry:
    """A manager's correction or goodwill: add (points > 0) or remove points.
    Audit-logged; booked as a loyalty expense (or its reversal)."""
    require(actor, "loyalty.adjust")
    currency = currency_code(currency)
    program = _program_or_refuse(currency)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the points are adjusted.", field="reason")
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise ValidationFailed(
            f"points must be a whole number other than 0 (got {points!r}).", field="points"
        )
    account = _account(customer, program)
    value = points_value(abs(points), program.point_value, quantum(currency))
    now = now or timezone.now()
    entry = LoyaltyEntry(
        account=account,
        kind=Kind.ADJUST,
        points=points,
        amount=value if points > 0 else -value,
        reference_type="adjustment",
        reference_id=uuid.uuid4().hex,
        reason=reason[:200],
        actor_label=actor.label,
    )
    if points > 0:
        entry.remaining, entry.expires_at = points, _expiry(program, now)
        entry.save(force_insert=True)
        _credit(account.pk, points)
    else:
        if not _debit(account.pk, -points):
            balance = LoyaltyAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
            raise ValidationFailed(
                f"Cannot remove {-points} points: the customer has {balance}.",
                field="points",
                available_points=balance,
            )
        entry.save(force_insert=True)
        _consume_lots(account.pk, -points)
    audit_record(
        actor=actor,
        action="loyalty.points_adjust",
        object_type="loyalty_account",
        object_id=account.pk,
        reason=reason,
        data={"points": points, "amount": str(entry.amount), "currency": currency},
    )
    event_publish(
        PointsAdjusted(
            entry_id=entry.pk,
            customer_id=customer.pk,
            points=points,
            amount=str(entry.amount),
            currency=currency,
            reason=reason[:200],
        )
    )
    return entry
