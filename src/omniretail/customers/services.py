"""Every write of the customers app: finding or creating the one customer,
consents, merging a duplicate, erasing a person.

Matching never searches and then inserts blindly: the unique indexes on
lower(email) and loyalty_card decide, and a concurrent creation is found on
retry. The apps that hold a customer's history (orders, loyalty) follow a
merge or an erasure through events handled in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from omniretail.core.access import SYSTEM, Actor
from omniretail.core.audit import audit_record
from omniretail.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from omniretail.core.events import event_publish
from omniretail.core.models import Channel
from omniretail.core.sql import row_insert_unless_taken
from omniretail.customers.domain import (
    CONSENT_PURPOSES,
    PhoneInvalid,
    erased_identity,
    phone_e164,
    search_key,
)
from omniretail.customers.events import CustomerErased, CustomerMerged
from omniretail.customers.models import ConsentEvent, Customer
from omniretail.customers.selectors import customer_resolve, phone_region

# Who may create or update customers while selling or taking orders.
MATCH_PERMISSIONS = ("orders.intake", "sale.create")
# Merging and erasing move balances and history: store managers and admins
# (the permission that lets them adjust loyalty balances).
STAFF_PERMISSION = "loyalty.adjust"
REASON_MAX = 300
NAME_MAX = 100
CARD_MAX = 32


@dataclass(frozen=True)
class CustomerMatch:
    customer: Customer
    created: bool
    matched_by: str  # "email", "loyalty_card", "phone", or "" when created


@dataclass(frozen=True)
class _Identity:
    email: str | None
    phone: str
    phone_e164: str
    loyalty_card: str | None


def staff_require(actor: Actor, verb: str) -> None:
    """Merging, erasing and exporting a customer: store managers and admins."""
    if not actor.can(STAFF_PERMISSION):
        raise PermissionDenied(
            f"{actor.label} may not {verb}: only store managers and administrators may "
            f"(permission {STAFF_PERMISSION}). Ask one of them.",
            code="forbidden",
        )


def _require_any(actor: Actor, permissions: tuple[str, ...]) -> None:
    if not any(actor.can(p) for p in permissions):
        raise PermissionDenied(
            f"{actor.label} may not record customers (needs one of {', '.join(permissions)}). "
            "Ask a store manager to grant a till or order-taking role.",
            code="forbidden",
        )


def _identity(
    email: str | None, phone: str | None, loyalty_card: str | None, *, strict_phone: bool
) -> _Identity:
    address = (email or "").strip() or None
    if address is not None:
        try:
            validate_email(address)
        except DjangoValidationError:
            raise ValidationFailed(
                f"{address!r} is not an e-mail address; check it (like name@example.com).",
                field="email",
            )
    typed = (phone or "").strip()
    normalised = ""
    if typed:
        if len(typed) > 32:
            raise ValidationFailed("phone is at most 32 characters; check it.", field="phone")
        try:
            normalised = phone_e164(typed, phone_region())
        except PhoneInvalid:
            if strict_phone:
                raise ValidationFailed(
                    f"{typed!r} is not a phone number that can be dialled; type it with its "
                    "country code, e.g. +33 6 12 34 56 78.",
                    field="phone",
                )
    card = (loyalty_card or "").strip() or None
    if card is not None and len(card) > CARD_MAX:
        raise ValidationFailed(
            f"loyalty_card is at most {CARD_MAX} characters; scan or type the card again.",
            field="loyalty_card",
        )
    return _Identity(address, typed, normalised, card)


def _match(identity: _Identity) -> tuple[Customer | None, str]:
    """E-mail first, then loyalty card, then phone. A phone is shared by a
    household, so it matches only one customer, and only one whose e-mail
    does not contradict the one given."""
    if identity.email:
        found = Customer.objects.filter(email__iexact=identity.email).first()
        if found is not None:
            return customer_resolve(found), "email"
    if identity.loyalty_card:
        found = Customer.objects.filter(loyalty_card=identity.loyalty_card).first()
        if found is not None:
            return customer_resolve(found), "loyalty_card"
    if identity.phone_e164:
        candidates = Customer.objects.filter(
            phone_e164=identity.phone_e164, merged_into__isnull=True, erased_at__isnull=True
        )
        if identity.email:
            candidates = candidates.filter(Q(email__isnull=True) | Q(email=""))
        found_two = list(candidates.order_by("pk")[:2])
        if len(found_two) == 1:
            return found_two[0], "phone"
    return None, ""


def customer_fields_derive(customer: Customer) -> None:
    """Set the normalised phone and the search key from the fields a person
    edits (the admin calls this before saving)."""
    customer.email = (customer.email or "").strip() or None
    try:
        customer.phone_e164 = phone_e164(customer.phone, phone_region()) if customer.phone else ""
    except PhoneInvalid:
        customer.phone_e164 = ""
    customer.search_key = search_key(customer.first_name, customer.last_name, customer.email)


def _enrich(customer: Customer, identity: _Identity, first_name: str, last_name: str) -> None:
    """Fill what the matched customer lacks; never overwrite what is there."""
    changed: list[str] = []
    if identity.phone and not customer.phone:
        customer.phone, customer.phone_e164 = identity.phone, identity.phone_e164
        changed += ["phone", "phone_e164"]
    if last_name and not customer.last_name:
        customer.last_name = last_name
        changed.append("last_name")
    if first_name and not customer.first_name:
        customer.first_name = first_name
        changed.append("first_name")
    if identity.email and not customer.email:
        customer.email = identity.email
        changed.append("email")
    if identity.loyalty_card and not customer.loyalty_card:
        customer.loyalty_card = identity.loyalty_card
        changed.append("loyalty_card")
    if not changed:
        return
    customer.search_key = search_key(customer.first_name, customer.last_name, customer.email)
    changed.append("search_key")
    try:
        with transaction.atomic():
            customer.save(update_fields=changed)
    except IntegrityError:
        # The e-mail or card is someone else's (taken meanwhile): keep the rest.
        unique = {"email", "loyalty_card"}
        for name in unique & set(changed):
            setattr(customer, name, None)
        customer.search_key = search_key(customer.first_name, customer.last_name, customer.email)
        customer.save(update_fields=[f for f in changed if f not in unique])


def _names(first_name: str, last_name: str) -> tuple[str, str]:
    first, last = (first_name or "").strip(), (last_name or "").strip()
    for value, field in ((first, "first_name"), (last, "last_name")):
        if len(value) > NAME_MAX:
            raise ValidationFailed(f"{field} is at most {NAME_MAX} characters.", field=field)
    return first, last


def _consents_check(consents: Mapping[str, bool] | None) -> dict[str, bool]:
    given = dict(consents or {})
    for purpose, value in given.items():
        if purpose not in CONSENT_PURPOSES:
            raise ValidationFailed(
                f"consents: unknown purpose {purpose!r}; use {', '.join(CONSENT_PURPOSES)}.",
                field=f"consents.{purpose}",
            )
        if not isinstance(value, bool):
            raise ValidationFailed(
                f"consents.{purpose} must be true or false.", field=f"consents.{purpose}"
            )
    return given


def _consents_apply(
    customer: Customer,
    given: dict[str, bool],
    *,
    channel: Channel | None,
    source: str,
    actor: Actor,
    now: dt.datetime,
) -> list[ConsentEvent]:
    """Record each decision that changes the customer's consent; the flags
    hold the latest decision, the events its time and source."""
    made = []
    for purpose, granted in given.items():
        if getattr(customer, f"consent_{purpose}") == granted:
            continue
        setattr(customer, f"consent_{purpose}", granted)
        made.append(
            ConsentEvent(
                customer=customer,
                purpose=purpose,
                granted=granted,
                channel=channel,
                source=(source or (channel.code if channel else actor.label))[:64],
                actor_label=actor.label[:100],
                at=now,
            )
        )
    if made:
        ConsentEvent.objects.bulk_create(made)
        customer.save(update_fields=[f"consent_{e.purpose}" for e in made])
    return made


def _match_or_create(
    identity: _Identity,
    *,
    first_name: str,
    last_name: str,
    consents: dict[str, bool],
    channel: Channel | None,
    source: str,
    actor: Actor,
) -> CustomerMatch:
    found, matched_by = _match(identity)
    created = False
    if found is None:
        # A new row claims one unique identifier only: the e-mail when there is
        # one (the card follows by an update of that row). Claiming two at once
        # lets two creators each hold one index entry and wait for the other's.
        card_now = identity.loyalty_card if not identity.email else None
        first = first_name or (identity.email or "").split("@")[0]
        candidate = Customer(
            first_name=first,
            last_name=last_name,
            email=identity.email,
            phone=identity.phone,
            phone_e164=identity.phone_e164,
            loyalty_card=card_now,
            search_key=search_key(first, last_name, identity.email),
        )
        if identity.email:
            # ON CONFLICT on the e-mail: no savepoint (an order's intake books
            # many new customers); a concurrent creator's row decides.
            created = row_insert_unless_taken(candidate, (Lower("email"),))
        else:
            try:
                with transaction.atomic():
                    candidate.save(force_insert=True)
                    created = True
            except IntegrityError:
                created = False  # someone took this card meanwhile: that row decides
        if created:
            found = candidate
        else:
            found, matched_by = _match(identity)
            if found is None:
                raise Conflict(
                    "This customer was being recorded by someone else at the same moment; "
                    "send the request again.",
                    field="email" if identity.email else "loyalty_card",
                )
    # What the customer lacks is filled in (a new customer: the card, if any).
    _enrich(found, identity, first_name, last_name)
    if consents:
        _consents_apply(
            found, consents, channel=channel, source=source, actor=actor, now=timezone.now()
        )
    return CustomerMatch(found, created, matched_by)


@transaction.atomic
def customer_match_or_create(
    *,
    actor: Actor,
    email: str | None = None,
    phone: str | None = None,
    loyalty_card: str | None = None,
    first_name: str = "",
    last_name: str = "",
    consents: Mapping[str, bool] | None = None,
    channel: Channel | None = None,
    source: str = "",
) -> CustomerMatch:
    """The one customer these details belong to, created only if nobody
    matches: by e-mail (any case), then loyalty card, then phone (in any
    format, normalised to E.164). What the matched customer lacks (phone,
    e-mail, card, last name) is filled in, never overwritten. `consents`
    ({"marketing_email": True, ...}) records each changed decision with its
    time and source (`channel`, or `source` such as "web sign-up")."""
    _require_any(actor, MATCH_PERMISSIONS)
    identity = _identity(email, phone, loyalty_card, strict_phone=True)
    if not (identity.email or identity.phone_e164 or identity.loyalty_card):
        raise ValidationFailed(
            "Give an e-mail, a phone number or a loyalty card to find or record the customer.",
            field="email",
        )
    first, last = _names(first_name, last_name)
    return _match_or_create(
        identity,
        first_name=first,
        last_name=last,
        consents=_consents_check(consents),
        channel=channel,
        source=source,
        actor=actor,
    )


def customer_find_or_create(
    *, email: str, first_name: str = "", last_name: str = "", phone: str = ""
) -> Customer:
    """The one customer with this e-mail (case-insensitive), created if new;
    kept for order intake. Delegates to the same matching as
    customer_match_or_create (so a phone typed at a till finds the in-store
    customer too); a phone that cannot be dialled is kept as typed."""
    identity = _identity(email, phone, None, strict_phone=False)
    if identity.email is None:
        raise ValidationFailed("Give the customer's e-mail.", field="email")
    first, last = _names(first_name, last_name)
    # Inside the caller's transaction (an order's intake) no savepoint of its
    # own: a race on the e-mail is caught by the create's savepoint.
    with transaction.atomic(savepoint=False):
        return _match_or_create(
            identity,
            first_name=first,
            last_name=last,
            consents={},
            channel=None,
            source="",
            actor=SYSTEM,
        ).customer


@transaction.atomic
def customer_consent_record(
    *,
    customer: Customer,
    consents: Mapping[str, bool],
    actor: Actor,
    channel: Channel | None = None,
    source: str = "",
) -> list[ConsentEvent]:
    """Record consents given or withdrawn (marketing e-mail, SMS, profiling)
    with their time and source; a decision that changes nothing is not
    recorded again."""
    if not actor.can(STAFF_PERMISSION):
        _require_any(actor, MATCH_PERMISSIONS)
    given = _consents_check(consents)
    if not given:
        raise ValidationFailed(
            f"Say which consent changes: one of {', '.join(CONSENT_PURPOSES)}.", field="consents"
        )
    locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if locked is None:
        raise NotFound(f"No customer #{customer.pk}.", field="customer")
    locked = customer_resolve(locked)
    if locked.erased_at is not None:
        raise Conflict("This customer was erased; there is nobody to ask.", field="customer")
    return _consents_apply(
        locked, given, channel=channel, source=source, actor=actor, now=timezone.now()
    )


def _reason(reason: str, verb: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(f"Say why you {verb} (it goes into the audit log).", field="reason")
    if len(text) > REASON_MAX:
        raise ValidationFailed(f"reason is at most {REASON_MAX} characters.", field="reason")
    return text


def _consents_latest(customer: Customer) -> None:
    """Set the consent flags from the newest decision per purpose."""
    latest: dict[str, bool] = {}
    for purpose, granted in ConsentEvent.objects.filter(customer=customer).values_list(
        "purpose", "granted"
    ):
        latest.setdefault(purpose, granted)
    for purpose in CONSENT_PURPOSES:
        setattr(customer, f"consent_{purpose}", latest.get(purpose, False))


@transaction.atomic
def customer_merge(*, keep: Customer, duplicate: Customer, actor: Actor, reason: str) -> Customer:
    """Two records of one person become one: orders, loyalty points and
    store credit of `duplicate` follow `keep` (handlers of customer.merged,
    in this transaction); consents follow, the newest decision winning; the
    e-mail and loyalty card move over when `keep` has none. The duplicate
    stays as a tombstone (`merged_into`) so look-ups of it lead to `keep`.
    Store managers and admins only; audit-logged with who and why."""
    staff_require(actor, "merge customers")
    why = _reason(reason, "merge these customers")
    if keep.pk == duplicate.pk:
        raise ValidationFailed(
            "A customer cannot be merged into itself; pick the duplicate record.",
            field="duplicate",
        )
    rows = {
        c.pk: c
        for c in Customer.objects.select_for_update()
        .filter(pk__in=[keep.pk, duplicate.pk])
        .order_by("pk")
    }
    kept, dup = rows.get(keep.pk), rows.get(duplicate.pk)
    if kept is None or dup is None:
        missing = keep.pk if kept is None else duplicate.pk
        raise NotFound(f"No customer #{missing}; check the id.", field="customer")
    if dup.merged_into_id is not None:
        raise Conflict(
            f"Customer #{dup.pk} was already merged into customer #{dup.merged_into_id}.",
            field="duplicate",
        )
    if kept.merged_into_id is not None:
        raise Conflict(
            f"Customer #{kept.pk} was merged into customer #{kept.merged_into_id}; "
            "keep that customer instead.",
            field="keep",
        )
    if kept.erased_at is not None or dup.erased_at is not None:
        which = "keep" if kept.erased_at is not None else "duplicate"
        raise Conflict("An erased customer cannot be merged.", field=which)
    # Events first: if orders or loyalty refuse, nothing below happens.
    event_publish(
        CustomerMerged(kept_id=kept.pk, duplicate_id=dup.pk, reason=why, actor_label=actor.label)
    )
    moved: list[str] = []
    dup_fields = ["merged_into", "merged_at"]
    kept_fields = ["search_key"]
    moving_email = bool(dup.email and not kept.email)
    moving_card = bool(dup.loyalty_card and not kept.loyalty_card)
    email, card = dup.email, dup.loyalty_card
    if moving_email:
        dup.email = None
        dup_fields.append("email")
    if moving_card:
        dup.loyalty_card = None
        dup_fields.append("loyalty_card")
    dup.merged_into, dup.merged_at = kept, timezone.now()
    dup.save(update_fields=dup_fields)  # frees the e-mail and card before they move
    if moving_email:
        kept.email = email
        kept_fields.append("email")
        moved.append("email")
    if moving_card:
        kept.loyalty_card = card
        kept_fields.append("loyalty_card")
        moved.append("loyalty_card")
    if dup.phone and not kept.phone:
        kept.phone, kept.phone_e164 = dup.phone, dup.phone_e164
        kept_fields += ["phone", "phone_e164"]
        moved.append("phone")
    if dup.group_id is not None and kept.group_id is None:
        kept.group_id = dup.group_id
        kept_fields.append("group")
        moved.append("group")
    consents = ConsentEvent.objects.filter(customer=dup).update(customer=kept)
    if consents:
        _consents_latest(kept)
        kept_fields += [f"consent_{p}" for p in CONSENT_PURPOSES]
    # Earlier duplicates of the duplicate now lead straight to the customer kept.
    tombstones = Customer.objects.filter(merged_into=dup).update(merged_into=kept)
    kept.search_key = search_key(kept.first_name, kept.last_name, kept.email)
    kept.save(update_fields=kept_fields)
    audit_record(
        actor=actor,
        action="customer.merge",
        object_type="customer",
        object_id=kept.pk,
        reason=why,
        data={
            "duplicate_id": dup.pk,
            "fields_moved": moved,
            "consent_events_moved": consents,
            "earlier_duplicates": tombstones,
        },
    )
    return kept


@transaction.atomic
def customer_erase(*, customer: Customer, actor: Actor, reason: str) -> Customer:
    """Anonymise a person on request: name, e-mail, phone and loyalty card
    become placeholders on the customer and on the duplicates merged into
    it, and the orders app blanks its copies (shipping address, e-mail).
    Refused while an order is still open. Fiscal documents (receipts,
    invoices) are not touched: they hold no customer details and their hash
    chains must keep verifying. Points and store credit stay on the
    anonymous record. Store managers and admins only; audit-logged."""
    staff_require(actor, "erase customers")
    why = _reason(reason, "erase this customer")
    locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if locked is None:
        raise NotFound(f"No customer #{customer.pk}; check the id.", field="customer")
    if locked.merged_into_id is not None:
        raise Conflict(
            f"Customer #{locked.pk} was merged into customer #{locked.merged_into_id}; erase "
            "that customer (its duplicates are erased with it).",
            field="customer",
        )
    if locked.erased_at is not None:
        raise Conflict(
            f"Customer #{locked.pk} was already erased on {locked.erased_at:%Y-%m-%d}.",
            field="customer",
        )
    people = [
        locked,
        *Customer.objects.select_for_update().filter(merged_into=locked).order_by("pk"),
    ]
    ids = [c.pk for c in people]
    # The orders app refuses here (open orders) before anything changes.
    event_publish(CustomerErased(customer_ids=ids, actor_label=actor.label))
    now = timezone.now()
    withdrawn = []
    for person in people:
        for purpose in CONSENT_PURPOSES:
            if getattr(person, f"consent_{purpose}"):
                withdrawn.append(
                    ConsentEvent(
                        customer=person,
                        purpose=purpose,
                        granted=False,
                        source="erasure",
                        actor_label=actor.label[:100],
                        at=now,
                    )
                )
                setattr(person, f"consent_{purpose}", False)
        anonymous = erased_identity(person.pk)
        person.first_name, person.last_name = anonymous.first_name, anonymous.last_name
        person.email, person.loyalty_card = None, None
        person.phone, person.phone_e164, person.search_key = "", "", ""
        person.erased_at = now
    ConsentEvent.objects.bulk_create(withdrawn)
    Customer.objects.bulk_update(
        people,
        [
            "first_name",
            "last_name",
            "email",
            "loyalty_card",
            "phone",
            "phone_e164",
            "search_key",
            "erased_at",
            *(f"consent_{p}" for p in CONSENT_PURPOSES),
        ],
    )
    audit_record(
        actor=actor,
        action="customer.erase",
        object_type="customer",
        object_id=locked.pk,
        reason=why,
        data={"customer_ids": ids},
    )
    return locked
