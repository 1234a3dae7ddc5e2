"""Domain events through the transactional outbox.

This module is also the wiring the tests run with: `OMNI_WIRING` names it, so
its IN_TRANSACTION / AFTER_COMMIT tables below replace omniretail.wiring.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from omniretail.core.events import (
    DomainEvent,
    _wiring,
    after_commit_handlers,
    event_publish,
    in_transaction_handlers,
    outbox_deliver_one,
    outbox_pending_ids,
    outbox_sweep,
)
from omniretail.core.models import AuditLog, OutboxEvent

# --- the events and handlers under test --------------------------------------------------

CALLS: list[tuple[str, str, bool]] = []  # (handler, event name, ran inside a transaction)
BROKEN: set[str] = set()  # names of after-commit handlers that fail for now


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThingHappened(DomainEvent):
    name: ClassVar[str] = "test.thing_happened"
    thing_id: int
    amount: Decimal
    at: dt.datetime
    ref: UUID


@dataclasses.dataclass(frozen=True, kw_only=True)
class BookingRefused(DomainEvent):
    name: ClassVar[str] = "test.booking_refused"
    thing_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class FeedChanged(DomainEvent):
    name: ClassVar[str] = "test.feed_changed"
    thing_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class NobodyListens(DomainEvent):
    name: ClassVar[str] = "test.nobody_listens"


def journal_record(event: OutboxEvent) -> None:
    CALLS.append(("journal_record", event.name, connection.in_atomic_block))
    AuditLog.objects.create(
        actor_label="journal", action="journal.post", object_type="event", object_id=event.pk
    )


def journal_refuse(event: OutboxEvent) -> None:
    CALLS.append(("journal_refuse", event.name, connection.in_atomic_block))
    raise ValueError("the entry does not balance")


def webhook_send(event: OutboxEvent) -> None:
    CALLS.append(("webhook_send", event.name, connection.in_atomic_block))
    if "webhook_send" in BROKEN:
        raise ConnectionError("webhook receiver is down")


def feed_update(event: OutboxEvent) -> None:
    CALLS.append(("feed_update", event.name, connection.in_atomic_block))
    AuditLog.objects.create(
        actor_label="feed", action="feed.update", object_type="event", object_id=event.pk
    )
    if "feed_update" in BROKEN:
        raise TimeoutError("feed upload timed out")


IN_TRANSACTION = {
    ThingHappened.name: [journal_record],
    BookingRefused.name: [journal_refuse],
}
AFTER_COMMIT = {
    ThingHappened.name: [webhook_send],
    FeedChanged.name: [feed_update],
}

# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def wiring():
    CALLS.clear()
    BROKEN.clear()
    _wiring.cache_clear()
    with override_settings(OMNI_WIRING=__name__):
        yield
    _wiring.cache_clear()
    CALLS.clear()
    BROKEN.clear()


def thing(thing_id: int = 7) -> ThingHappened:
    return ThingHappened(
        thing_id=thing_id,
        amount=Decimal("12.50"),
        at=dt.datetime(2025, 3, 1, 9, 5, tzinfo=dt.UTC),
        ref=UUID("12345678-1234-5678-1234-567812345678"),
    )


def publish_and_commit(capture, event: DomainEvent) -> OutboxEvent:
    """Publish in a transaction and run what happens after its commit."""
    with capture(execute=True), transaction.atomic():
        row = event_publish(event)
    row.refresh_from_db()
    return row


def handlers_called() -> list[str]:
    return [name for name, _event, _in_tx in CALLS]


# --- tests ------------------------------------------------------------------------------------


def test_the_wiring_tables_come_from_settings():
    assert in_transaction_handlers("test.thing_happened") == [journal_record]
    assert after_commit_handlers("test.thing_happened") == [webhook_send]
    assert in_transaction_handlers("test.nobody_listens") == []
    assert after_commit_handlers("sale.completed") == []


def test_the_payload_is_plain_json():
    assert thing().payload() == {
        "thing_id": 7,
        "amount": "12.50",
        "at": "2025-03-01T09:05:00+00:00",
        "ref": "12345678-1234-5678-1234-567812345678",
    }


@pytest.mark.django_db
def test_publish_writes_the_event_and_runs_in_transaction_handlers(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        row = event_publish(thing())
        # Inside the cause's transaction: the event and the handler's write are there.
        assert OutboxEvent.objects.filter(pk=row.pk).exists()
        assert AuditLog.objects.filter(action="journal.post", object_id=str(row.pk)).exists()

    assert CALLS == [("journal_record", "test.thing_happened", True)]
    assert len(callbacks) == 1  # delivery is scheduled for after the commit, not run now
    row.refresh_from_db()
    assert row.name == "test.thing_happened"
    assert row.payload == thing().payload()
    assert (row.attempts, row.delivered_at, row.last_error) == (0, None, "")


@pytest.mark.django_db
def test_a_rolled_back_cause_takes_its_event_with_it(django_capture_on_commit_callbacks):
    class Refused(Exception):
        pass

    def sale_that_fails_after_publishing() -> None:
        with transaction.atomic():
            event_publish(thing())
            raise Refused

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Refused):
        sale_that_fails_after_publishing()

    assert OutboxEvent.objects.count() == 0
    assert AuditLog.objects.count() == 0
    assert callbacks == []  # nothing to deliver
    assert handlers_called() == ["journal_record"]


@pytest.mark.django_db(transaction=True)
def test_publish_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError, match="inside the transaction that causes the event"):
        event_publish(thing())
    assert OutboxEvent.objects.count() == 0
    assert CALLS == []


@pytest.mark.django_db
def test_a_failing_in_transaction_handler_rolls_back_the_cause():
    def sale_whose_booking_is_refused() -> None:
        with transaction.atomic():
            AuditLog.objects.create(
                actor_label="cashier", action="sale.create", object_type="order", object_id="1"
            )
            event_publish(BookingRefused(thing_id=1))

    with pytest.raises(ValueError, match="the entry does not balance"):
        sale_whose_booking_is_refused()

    assert AuditLog.objects.count() == 0
    assert OutboxEvent.objects.count() == 0
    assert CALLS == [("journal_refuse", "test.booking_refused", True)]


@pytest.mark.django_db
def test_after_commit_handlers_run_once_and_mark_the_event_delivered(
    django_capture_on_commit_callbacks,
):
    before = timezone.now()
    row = publish_and_commit(django_capture_on_commit_callbacks, thing())

    assert handlers_called() == ["journal_record", "webhook_send"]
    assert row.delivered_at is not None
    assert before <= row.delivered_at <= timezone.now()
    assert (row.attempts, row.last_error) == (1, "")
    assert outbox_pending_ids() == []
    assert outbox_deliver_one(str(row.pk)) is True  # delivering again is a no-op
    assert handlers_called() == ["journal_record", "webhook_send"]


@pytest.mark.django_db
def test_an_event_without_handlers_is_delivered(django_capture_on_commit_callbacks):
    row = publish_and_commit(django_capture_on_commit_callbacks, NobodyListens())
    # Nobody to deliver to: kept in the outbox, done at once, no delivery task.
    assert row.delivered_at is not None
    assert row.attempts == 0


@pytest.mark.django_db
def test_a_failing_after_commit_handler_is_retried_later_by_the_sweep(
    django_capture_on_commit_callbacks,
):
    BROKEN.add("webhook_send")
    before = timezone.now()
    row = publish_and_commit(django_capture_on_commit_callbacks, thing())
    after = timezone.now()

    # The cause committed; the delivery failed and is scheduled again.
    assert AuditLog.objects.filter(action="journal.post").count() == 1
    assert row.delivered_at is None
    assert row.attempts == 1
    assert row.last_error == "ConnectionError: webhook receiver is down"
    assert before + dt.timedelta(seconds=2) <= row.next_attempt_at
    assert row.next_attempt_at <= after + dt.timedelta(seconds=2)

    # Backoff: the sweep leaves it alone until next_attempt_at.
    assert outbox_sweep(older_than_s=0) == 0
    row.refresh_from_db()
    assert row.attempts == 1

    # The receiver is back and the backoff has passed.
    BROKEN.clear()
    OutboxEvent.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert outbox_sweep(older_than_s=0) == 1
    row.refresh_from_db()
    assert row.delivered_at is not None
    assert (row.attempts, row.last_error) == (2, "")
    assert handlers_called() == ["journal_record", "webhook_send", "webhook_send"]
    assert outbox_sweep(older_than_s=0) == 0


@pytest.mark.django_db
def test_a_failing_after_commit_handler_leaves_no_partial_writes(
    django_capture_on_commit_callbacks,
):
    BROKEN.add("feed_update")
    row = publish_and_commit(django_capture_on_commit_callbacks, FeedChanged(thing_id=3))
    assert handlers_called() == ["feed_update"]
    assert AuditLog.objects.filter(action="feed.update").count() == 0
    assert row.last_error == "TimeoutError: feed upload timed out"

    BROKEN.clear()
    assert outbox_deliver_one(str(row.pk)) is True
    assert AuditLog.objects.filter(action="feed.update").count() == 1


@pytest.mark.django_db
def test_the_backoff_doubles_and_the_sweep_gives_up_after_max_attempts(
    django_capture_on_commit_callbacks, settings
):
    settings.OMNI_OUTBOX_MAX_ATTEMPTS = 3
    BROKEN.add("webhook_send")
    row = publish_and_commit(django_capture_on_commit_callbacks, thing())
    event_id = str(row.pk)
    delays = []
    for _ in range(2):
        start = timezone.now()
        OutboxEvent.objects.filter(pk=event_id).update(next_attempt_at=None)
        assert outbox_pending_ids() == [event_id]
        assert outbox_deliver_one(event_id) is False
        row.refresh_from_db()
        delays.append(round((row.next_attempt_at - start).total_seconds()))
    assert delays == [4, 8]
    assert row.attempts == 3

    OutboxEvent.objects.filter(pk=event_id).update(next_attempt_at=None)
    assert outbox_pending_ids() == []  # 3 attempts: left for a person to look at
    assert outbox_sweep(older_than_s=0) == 0


@pytest.mark.django_db
def test_the_sweep_delivers_events_whose_delivery_was_lost(django_capture_on_commit_callbacks):
    # The commit happened but the delivery never ran (the process died, the queue was down).
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        row = event_publish(thing())

    assert outbox_sweep() == 0  # fresh events are left to their own delivery for 30 s
    OutboxEvent.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=31)
    )
    assert outbox_sweep() == 1
    row.refresh_from_db()
    assert row.delivered_at is not None
    assert handlers_called() == ["journal_record", "webhook_send"]
