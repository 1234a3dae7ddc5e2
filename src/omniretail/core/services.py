"""Organisation writes: company, stores, channels, terminals."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from omniretail.core.access import ALL_ROLES, SYSTEM, Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.errors import ValidationFailed
from omniretail.core.models import Channel, Company, StaffMembership, Store, Terminal
from omniretail.core.series import series_get_or_create


@transaction.atomic
def store_create(
    *, company: Company, code: str, name: str, address: str = "", actor: Actor = SYSTEM
) -> Store:
    require(actor, "org.write")
    store = Store.objects.create(company=company, code=code, name=name, address=address)
    audit_record(actor=actor, action="store.create", object_type="store", object_id=store.pk)
    return store


@transaction.atomic
def channel_create(
    *,
    company: Company,
    code: str,
    name: str,
    kind: str,
    store: Store | None = None,
    actor: Actor = SYSTEM,
) -> Channel:
    require(actor, "org.write")
    channel = Channel.objects.create(company=company, code=code, name=name, kind=kind, store=store)
    audit_record(actor=actor, action="channel.create", object_type="channel", object_id=channel.pk)
    return channel


@transaction.atomic
def terminal_create(
    *, store: Store, channel: Channel, code: str, name: str, actor: Actor = SYSTEM
) -> Terminal:
    """A till with its own gapless receipt series (R-<code>-000001...)."""
    require(actor, "org.write", store_id=store.pk)
    series = series_get_or_create(code=f"receipt-{code}", prefix=f"R-{code.upper()}-")
    terminal = Terminal.objects.create(
        store=store, channel=channel, code=code, name=name, receipt_series=series
    )
    audit_record(
        actor=actor,
        action="terminal.create",
        object_type="terminal",
        object_id=terminal.pk,
        store_id=store.pk,
    )
    return terminal


@transaction.atomic
def membership_grant(
    *, user: Any, role: str, store: Store | None, actor: Actor = SYSTEM, reason: str = ""
) -> StaffMembership:
    """Give a staff user a role in one store (or every store with store=None).
    The role's back-office permissions follow from it (RolePermissionBackend)."""
    if role not in ALL_ROLES:
        raise ValidationFailed(
            f"role {role!r} does not exist; use one of {', '.join(ALL_ROLES)}.", field="role"
        )
    require(actor, "org.write", store_id=store.pk if store else None)
    membership, _ = StaffMembership.objects.get_or_create(user=user, role=role, store=store)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    audit_record(
        actor=actor,
        action="membership.grant",
        object_type="user",
        object_id=user.pk,
        store_id=store.pk if store else None,
        reason=reason,
        data={"role": role},
    )
    return membership
