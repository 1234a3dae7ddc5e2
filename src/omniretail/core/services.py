"""Organisation writes: company, stores, channels, terminals."""

from __future__ import annotations

from django.db import transaction

from omniretail.core.access import SYSTEM, Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.models import Channel, Company, Store, Terminal
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
