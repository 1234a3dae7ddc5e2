"""Shared start for benchmarks: a throwaway database, migrated.

Benchmarks run on a temporary SQLite file unless BENCH_DATABASE_URL points
at PostgreSQL; they never touch the development database.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def django_ready(name: str) -> str:
    """Point Django at a fresh database for this benchmark and migrate it.
    Returns the engine name for the figures line."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        path = Path(tempfile.mkdtemp(prefix=f"omni-bench-{name}-")) / "bench.sqlite3"
        url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "0")  # as in production: no query log kept
    os.environ["OMNI_TASK_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniretail.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if url.startswith("postgres"):
        call_command("flush", interactive=False, verbosity=0)
        checkpoint()
    return "postgresql" if url.startswith("postgres") else "sqlite"


def checkpoint() -> None:
    """Write out what earlier work left dirty (a test suite creates and drops
    whole databases), so the run does not pay for it: the same benchmark
    measured 35-50 % slower right after `make test` than after a CHECKPOINT.
    Needs a superuser (or pg_checkpoint); skipped otherwise."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        pass


def percentile(samples: list[float], pct: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else 0.0
