"""The `omni` command line: help for every command, the worker delivering
outbox events from the database queue, verify's exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from omniretail.cli import main
from omniretail.core.events import DomainEvent, _wiring, event_publish
from omniretail.core.models import OutboxEvent

COMMANDS = ["serve", "demo", "worker", "verify"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: omni" in capsys.readouterr().out


def test_top_level_help_and_createsuperuser_passthrough():
    out = subprocess.run(
        [sys.executable, "-m", "omniretail.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for command in [*COMMANDS, "createsuperuser"]:
        assert command in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "omniretail.cli", "createsuperuser", "--help"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0
    assert "--username" in out.stdout


class _Pinged(DomainEvent):
    name = "test.pinged"


PINGS: list[str] = []

# This module doubles as the wiring for the worker test: one after-commit
# handler, so the event needs delivery by the worker.
IN_TRANSACTION: dict = {}
AFTER_COMMIT = {"test.pinged": [lambda row: PINGS.append(str(row.pk))]}


@pytest.mark.django_db(transaction=True)
def test_worker_batch_delivers_queued_outbox_events(capsys):
    _wiring.cache_clear()
    PINGS.clear()
    try:
        with override_settings(
            TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
            OMNI_WIRING="tests.test_cli",
        ):
            # Three events in one transaction, one more in a savepoint rolled back.
            with transaction.atomic():
                events = [event_publish(_Pinged()) for _ in range(2)]
                try:
                    with transaction.atomic():
                        event_publish(_Pinged())
                        raise RuntimeError("undo")
                except RuntimeError:
                    pass
                events.append(event_publish(_Pinged()))
            assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 3
            queued = DBTaskResult.objects.get()  # one delivery task per transaction
            assert queued.task_path == "omniretail.core.events.outbox_deliver"
            assert main(["worker", "--batch", "--verbosity", "0"]) == 0
            queued.refresh_from_db()
            assert queued.status == "SUCCESSFUL"
            assert [str(event.pk) for event in events] == PINGS
            assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    finally:
        _wiring.cache_clear()
    assert "queue drained" in capsys.readouterr().out


@pytest.mark.django_db
def test_verify_exits_zero_on_a_clean_database(capsys):
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "ok    stock:" in out
    assert "all promises hold" in out
