"""A process-local cache of the parts of the pricing rules that no cart changes
(tax rates, category ancestors, promotions, campaigns and source codes, price
list heads, a channel's company settings), so that pricing a cart reads only
what is the cart's own: its variants, their price-list entries, its coupons.

Freshness, in this order:

- any save or delete through the ORM of a model that feeds the rules (and any
  change to a promotion's many-to-many targets) empties this process's cache
  at once, and again when its transaction commits;
- while the current transaction has written such a row, this connection
  neither reads nor fills the cache (it must see its own uncommitted rows, and
  no other thread may see them);
- every entry expires after `settings.OMNI_PRICING_CACHE_SECONDS` (default 5;
  0 = no cache): that is how a change made by another process — or behind the
  ORM's back (`QuerySet.update`, `bulk_create`, SQL) — reaches this one.

Coupons and their usage are never cached (selectors.py reads them per cart).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

DEFAULT_SECONDS = 5.0
_PENDING = "_omni_pricing_writes_pending"

# Monotonic seconds; a test swaps it for a clock it moves by hand.
clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class _Entry:
    value: Any
    expires: float


_entries: dict[Hashable, _Entry] = {}
_lock = threading.Lock()
_generation = 0  # bumped by every clear: a load that straddles a clear is not kept


def cache_seconds() -> float:
    return float(getattr(settings, "OMNI_PRICING_CACHE_SECONDS", DEFAULT_SECONDS))


def rules_cache_clear() -> None:
    """Forget every cached rule in this process (other processes: after their TTL)."""
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def rules_cached(key: Hashable, load: Callable[[], T], *, usable: bool) -> T:
    """The value under `key`, loaded with `load()` when missing or expired;
    `usable` is rules_cache_usable(), asked once per cart."""
    if not usable:
        return load()
    seconds = cache_seconds()
    now = clock()
    entry = _entries.get(key)
    if entry is not None and entry.expires > now:
        return entry.value  # type: ignore[no-any-return]
    generation = _generation
    value = load()
    with _lock:
        if generation == _generation:
            _entries[key] = _Entry(value, now + seconds)
    return value


def rules_cache_usable() -> bool:
    """False when the cache is off or this transaction wrote pricing rows."""
    return cache_seconds() > 0 and not _writes_pending()


def _writes_pending() -> bool:
    # Marked with the transaction's outermost atomic block: once that block is
    # gone the mark is stale (committed: the cache was emptied on commit;
    # rolled back: nothing was cached from it).
    connection = connections[DEFAULT_DB_ALIAS]
    mark = getattr(connection, _PENDING, None)
    if mark is None:
        return False
    if (
        connection.in_atomic_block
        and connection.atomic_blocks
        and mark() is connection.atomic_blocks[0]
    ):
        return True
    setattr(connection, _PENDING, None)
    return False


def _committed(using: str) -> None:
    setattr(connections[using], _PENDING, None)
    rules_cache_clear()


def _rules_changed(sender: type[Model], using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    rules_cache_clear()
    connection = connections[using]
    if connection.in_atomic_block and connection.atomic_blocks:
        outermost = connection.atomic_blocks[0]
        mark = getattr(connection, _PENDING, None)
        if mark is None or mark() is not outermost:
            setattr(connection, _PENDING, weakref.ref(outermost))
            transaction.on_commit(lambda: _committed(using), using=using)


def rules_cache_watch(models: list[type[Model]], m2m_through: list[type[Model]]) -> None:
    """Empty the cache whenever one of `models` (or a many-to-many through
    table in `m2m_through`) is written through the ORM. Called once, from
    PricingConfig.ready()."""
    for model in [*models, *m2m_through]:
        uid = f"pricing-rules-cache:{model._meta.label_lower}"
        post_save.connect(_rules_changed, sender=model, dispatch_uid=f"{uid}:save")
        post_delete.connect(_rules_changed, sender=model, dispatch_uid=f"{uid}:delete")
    for through in m2m_through:
        uid = f"pricing-rules-cache:{through._meta.label_lower}:m2m"
        m2m_changed.connect(_rules_changed, sender=through, dispatch_uid=uid)
