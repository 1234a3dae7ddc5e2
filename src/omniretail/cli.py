"""`omni`: the operator's command line.

omni serve      web app + background worker together
omni demo       load the demo retailer (idempotent)
omni worker     run background tasks and the periodic jobs (outbox sweep, expiry)
omni verify     check the promises of ARCHITECTURE.md; non-zero on a violation
omni export-journal --format csv|iif --from YYYY-MM-DD --to YYYY-MM-DD [--output FILE]
omni createsuperuser, omni migrate, omni manage <django command> ...
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniretail.settings")
    import django

    django.setup()


def _manage(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniretail.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["omni", *argv])
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    _django_setup()
    from omniretail.verify import verify_all

    problems, summaries = verify_all()
    if not args.quiet:
        for line in summaries:
            print(f"ok    {line}")
    for p in problems:
        print(f"FAIL  {p}")
    if problems:
        print(f"omni verify: {len(problems)} violation(s)")
        return 1
    print("omni verify: all promises hold")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _django_setup()
    from omniretail.demo import demo_load

    report = demo_load(products=args.products, seed=args.seed)
    for line in report:
        print(line)
    return 0


def _periodic_run() -> list[str]:
    """Run the periodic jobs of omniretail.wiring once; one failing job does
    not stop the others (the next round retries it)."""
    from django.db import close_old_connections

    from omniretail.wiring import PERIODIC

    report = []
    for label, job in PERIODIC:
        try:
            report.append(f"{job()} {label}")
        except Exception as exc:
            print(f"periodic job {label!r} failed: {exc}", file=sys.stderr)
        finally:
            close_old_connections()
    return report


def _periodic_loop(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        _periodic_run()


def cmd_worker(args: argparse.Namespace) -> int:
    _django_setup()
    from django.core.management import call_command

    if args.batch:
        call_command(
            "db_worker",
            queue_name="*",
            batch=True,
            reload=False,
            startup_delay=False,
            verbosity=args.verbosity,
        )
        print("omni worker: queue drained; " + "; ".join(_periodic_run()))
        return 0
    stop = threading.Event()
    sweeper = threading.Thread(target=_periodic_loop, args=(stop, args.sweep_interval), daemon=True)
    sweeper.start()
    try:
        call_command(
            "db_worker",
            queue_name="*",
            interval=args.interval,
            reload=False,
            verbosity=args.verbosity,
        )
    finally:
        stop.set()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    port = str(args.port or os.environ.get("PORT", "8000"))
    host = args.host
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="omniretail.settings")
    worker = None
    if not args.no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "omniretail.cli", "worker"], env=env)
    print(f"OmniRetail on http://{host}:{port}/  (back office /admin/, API /api/docs)", flush=True)
    try:
        if args.dev:
            web = subprocess.Popen(
                [sys.executable, "-m", "django", "runserver", f"{host}:{port}"], env=env
            )
        else:
            web = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "omniretail.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    str(args.workers),
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                    "--graceful-timeout",
                    "10",
                ],
                env=env,
            )
        signal.signal(signal.SIGTERM, lambda *_: web.terminate())
        while web.poll() is None:
            if worker is not None and worker.poll() is not None:
                print("the background worker stopped; restarting it", file=sys.stderr)
                worker = subprocess.Popen(
                    [sys.executable, "-m", "omniretail.cli", "worker"], env=env
                )
            time.sleep(1)
        return web.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in (worker, locals().get("web")):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        # argparse puts "argument --from:" in front of the message
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date; write it as YYYY-MM-DD (e.g. 2025-03-31)"
        ) from None


def cmd_export_journal(args: argparse.Namespace) -> int:
    _django_setup()
    from omniretail.accounting.export import EXPORT_FORMATS, IIF_ENCODING, journal_export_audit
    from omniretail.core.access import SYSTEM
    from omniretail.core.errors import DomainError
    from omniretail.core.models import Store

    store_id = None
    if args.store:
        store_id = Store.objects.filter(code=args.store).values_list("pk", flat=True).first()
        if store_id is None:
            print(
                f"omni export-journal: --store: no store with code {args.store!r}; "
                "use a code from the admin's store list.",
                file=sys.stderr,
            )
            return 2
    try:
        lines = EXPORT_FORMATS[args.format](
            actor=SYSTEM, date_from=args.date_from, date_to=args.date_to, store_id=store_id
        )
    except DomainError as exc:
        flag = f"--{exc.field}: " if exc.field in ("from", "to", "store") else ""
        print(f"omni export-journal: {flag}{exc.message}", file=sys.stderr)
        return 2
    journal_export_audit(
        actor=SYSTEM,
        fmt=args.format,
        date_from=args.date_from,
        date_to=args.date_to,
        store_id=store_id,
    )
    encoding = IIF_ENCODING if args.format == "iif" else "utf-8"
    count = 0
    if args.output:
        with open(args.output, "w", encoding=encoding, errors="replace", newline="") as out:
            for line in lines:
                out.write(line)
                count += 1
        print(f"omni export-journal: {count} line(s) written to {args.output}", file=sys.stderr)
    else:
        stream = sys.stdout.buffer
        for line in lines:
            stream.write(line.encode(encoding, errors="replace"))
        stream.flush()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omni", description="OmniRetail: one system of record for stores and online sales."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web app and the background worker together")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_WORKERS", "2")),
        help="web worker processes (gunicorn)",
    )
    p.add_argument("--dev", action="store_true", help="Django's auto-reloading dev server")
    p.add_argument("--no-worker", action="store_true", help="web app only")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="load the demo retailer (running it twice is fine)")
    p.add_argument("--products", type=int, default=200, help="number of products (default 200)")
    p.add_argument("--seed", type=int, default=7, help="random seed for reproducible data")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "worker", help="run background tasks and the periodic jobs (outbox sweep, expired holds)"
    )
    p.add_argument("--interval", type=float, default=1.0, help="seconds between queue polls")
    p.add_argument(
        "--sweep-interval",
        type=float,
        default=30.0,
        help="seconds between periodic jobs (outbox sweep, expired reservations)",
    )
    p.add_argument("--verbosity", type=int, default=1)
    p.add_argument(
        "--batch",
        action="store_true",
        help="run what is queued and the periodic jobs once, then exit (for cron)",
    )
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("verify", help="check stock conservation, fiscal chains, balanced books")
    p.add_argument("--quiet", action="store_true", help="print only violations")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "export-journal",
        help="export the journal for the accountant: generic CSV or QuickBooks IIF",
    )
    p.add_argument("--format", choices=["csv", "iif"], default="csv", help="default: csv")
    p.add_argument(
        "--from",
        dest="date_from",
        required=True,
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="first booking day (included)",
    )
    p.add_argument(
        "--to",
        dest="date_to",
        required=True,
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="last booking day (included)",
    )
    p.add_argument("--store", default="", help="one store's entries only (store code)")
    p.add_argument("--output", default="", metavar="FILE", help="default: standard output")
    p.set_defaults(func=cmd_export_journal)

    for name, help_text in (
        ("createsuperuser", "create an administrator (Django's createsuperuser)"),
        ("migrate", "apply database migrations"),
        ("manage", "run any Django management command: omni manage <command> ..."),
    ):
        p = sub.add_parser(name, help=help_text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=None, passthrough=name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in ("createsuperuser", "migrate", "manage"):
        name, rest = argv[0], argv[1:]
        return _manage(rest if name == "manage" else [name, *rest])
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
