"""Domain events through the transactional outbox.

`event_publish` writes the event in the caller's transaction, runs the
handlers that must be atomic with the write (journal, fiscal numbering), and
after commit hands the event to a task that runs the other handlers
(webhooks, feeds, live updates) at least once, with retries.

The handler table lives in `omniretail.wiring` (named by settings.OMNI_WIRING)
so that a lower layer never imports a higher one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task

from omniretail.core.models import OutboxEvent
from omniretail.core.sql import rows_insert

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every event: a past-tense fact. Subclasses set `name`."""

    name: ClassVar[str] = "event"

    def payload(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self), default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in an event")


Handler = Callable[[OutboxEvent], None]


@cache
def _wiring() -> Any:
    return importlib.import_module(getattr(settings, "OMNI_WIRING", "omniretail.wiring"))


def in_transaction_handlers(name: str) -> list[Handler]:
    return list(_wiring().IN_TRANSACTION.get(name, ()))


def after_commit_handlers(name: str) -> list[Handler]:
    return list(_wiring().AFTER_COMMIT.get(name, ()))


def event_publish(event: DomainEvent) -> OutboxEvent:
    if not connection.in_atomic_block:
        raise RuntimeError("event_publish must run inside the transaction that causes the event")
    after = after_commit_handlers(event.name)
    # With nobody to deliver to, the event is kept (feeds read the outbox)
    # but needs no delivery task.
    row = OutboxEvent(
        name=event.name,
        payload=event.payload(),
        delivered_at=None if after else timezone.now(),
    )
    rows_insert([row])  # every write path publishes: skip the query compiler
    for handler in in_transaction_handlers(event.name):
        handler(row)
    if after:
        _pending().append(str(row.pk))
        transaction.on_commit(_enqueue_pending)
    return row


def _pending() -> list[str]:
    """Events of this connection (one per thread) waiting for their commit."""
    pending = getattr(connection, "_omni_outbox_pending", None)
    if pending is None:
        pending = connection._omni_outbox_pending = []  # type: ignore[attr-defined]
    return pending


def _enqueue_pending() -> None:
    """On commit: one delivery task for every event the transaction wrote
    (an order writes several), not one task each. The first callback of a
    transaction takes them all; the others find nothing. An id left by a
    rolled-back transaction costs nothing: its row does not exist."""
    pending = _pending()
    event_ids, pending[:] = pending[:], []
    if not event_ids:
        return
    try:
        outbox_deliver.enqueue(*event_ids)
    except Exception:
        # The events are safe in the outbox; the worker's sweep delivers them later.
        log.exception("could not enqueue delivery of outbox events %s", ", ".join(event_ids))


def outbox_deliver_one(event_id: str) -> bool:
    """Run the after-commit handlers of one event. True when delivered.

    The row is locked while it is delivered so two workers never deliver the
    same event at once; receivers still dedupe by event id (at least once).
    """
    with transaction.atomic():
        row = OutboxEvent.objects.select_for_update().filter(pk=event_id).first()
        if row is None or row.delivered_at is not None:
            return True
        try:
            with transaction.atomic():
                for handler in after_commit_handlers(row.name):
                    handler(row)
        except Exception as exc:
            row.attempts += 1
            delay = min(2**row.attempts, 3600)
            row.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.save(update_fields=["attempts", "next_attempt_at", "last_error"])
            log.warning("outbox event %s (%s) failed: %s", row.pk, row.name, row.last_error)
            return False
        row.attempts += 1
        row.delivered_at = timezone.now()
        row.last_error = ""
        row.save(update_fields=["attempts", "delivered_at", "last_error"])
        return True


@task()
def outbox_deliver(*event_ids: str) -> bool:
    """Deliver outbox events (those one transaction wrote), in order; one
    failing does not stop the others, and failures are retried by the
    worker's sweep with exponential backoff. True when all were delivered."""
    delivered = [outbox_deliver_one(event_id) for event_id in event_ids]
    return all(delivered)


def outbox_pending_ids(*, limit: int = 500, older_than_s: int = 0) -> list[str]:
    now = timezone.now()
    qs = OutboxEvent.objects.filter(
        delivered_at__isnull=True,
        attempts__lt=settings.OMNI_OUTBOX_MAX_ATTEMPTS,
        created_at__lte=now - dt.timedelta(seconds=older_than_s),
    ).exclude(next_attempt_at__gt=now)
    return [str(pk) for pk in qs.order_by("created_at").values_list("pk", flat=True)[:limit]]


def outbox_sweep(*, older_than_s: int = 30) -> int:
    """Deliver events whose after-commit delivery was lost or failed. Returns
    how many were delivered."""
    delivered = 0
    for event_id in outbox_pending_ids(older_than_s=older_than_s):
        delivered += outbox_deliver_one(event_id)
    return delivered
