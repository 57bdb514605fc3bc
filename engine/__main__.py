"""Operator commands: `python -m engine migrate | create-admin | demo | check | backup | restore`.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from engine import migrate
from engine.config import get_settings
from engine.errors import DomainError
from engine.logs import configure_logging, log_action

log = logging.getLogger("range_control.engine")


def _cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade as the owner (MIGRATION_DATABASE_URL, else DATABASE_URL), then create or update
    the applications' least-privilege role named by DATABASE_URL."""
    from engine.db_roles import RoleSetupError, apply_runtime_role

    settings = get_settings()
    url = settings.migration_sqlalchemy_url
    migrate.upgrade(url)
    migrate.refresh_statistics(url)
    print(f"database at revision {migrate.current_revision(url)}")
    try:
        print(apply_runtime_role(settings.sqlalchemy_url, url))
    except RoleSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_create_admin(args: argparse.Namespace) -> int:
    from engine.bootstrap import create_first_admin
    from engine.db import Database

    password = os.environ.get("RANGE_CONTROL_ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password again: "):
            print("error: the passwords do not match", file=sys.stderr)
            return 2
    db = Database()
    view = create_first_admin(db, email=args.email, name=args.name, password=password)
    print(f"admin {view.email} created ({view.id})")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from engine.db import Database
    from engine.demo import load_demo

    db = Database()
    summary = load_demo(db, if_empty=args.if_empty, seed=args.seed)
    print(summary)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from engine.check import run_checks
    from engine.db import Database

    db = Database(args.database_url or None)
    # In production the DATABASE_URL role itself is checked: it must not be able to erase history.
    app_connection = get_settings().is_production and not args.database_url
    try:
        with db.uow().read() as uow:
            result = run_checks(db.url, uow.session, app_connection=app_connection)
    except SQLAlchemyError as exc:
        print(f"error: cannot check the database: {exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(result.to_json() if args.json else result.to_text())
    for finding in result.findings:
        log.warning(finding.message, extra={"action": "check", "status": finding.kind,
                                            "count": finding.count})
    return 0 if result.ok else 1


def _database_url(args: argparse.Namespace) -> str:
    """Backup and restore act as the owner: MIGRATION_DATABASE_URL, else DATABASE_URL."""
    return args.database_url or get_settings().migration_sqlalchemy_url


def _cmd_backup(args: argparse.Namespace) -> int:
    from engine.backup import BackupError, backup

    try:
        path = backup(_database_url(args), args.out)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {path} ({path.stat().st_size} bytes)")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from engine.backup import BackupError, restore

    url = _database_url(args)
    target = make_url(url).database
    if not args.yes:
        if not sys.stdin.isatty():
            print("error: restore replaces every table of the target database: "
                  "pass --yes to confirm", file=sys.stderr)
            return 2
        answer = input(f"Restore replaces all data in database '{target}'. "
                       "Type its name to continue: ")
        if answer.strip() != target:
            print("error: not confirmed, nothing changed", file=sys.stderr)
            return 2
    try:
        restore(url, args.source)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"database '{target}' restored from {args.source}")
    if not args.database_url:  # dumps carry no grants: give the applications' role its own
        from engine.db_roles import apply_runtime_role

        print(apply_runtime_role(get_settings().sqlalchemy_url, url))
    return 0


def _cmd_notify(args: argparse.Namespace) -> int:
    import signal
    import threading

    from engine.db import Database
    from engine.mail import MailConfigError, SmtpSettings
    from engine.notifications.settings import NotifySettings
    from engine.notifications.worker import Worker

    try:
        get_settings().check_production_secrets()
        smtp = SmtpSettings.from_env()
    except (MailConfigError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = NotifySettings()
    if args.batch_size:
        settings.batch_size = args.batch_size
    db = Database()
    worker = Worker(db, smtp, settings, worker_id=args.worker_id)
    try:
        if args.once:
            result = worker.run_once()
            print(f"sent {result.sent}, retried {result.retried}, failed {result.failed}, "
                  f"skipped {result.skipped}, scheduled {result.scheduled}")
            return 1 if result.errors else 0
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.info("notify worker %s started", worker.worker_id,
                 extra={"action": "notify.start", "status": "ok"})
        worker.run_forever(stop)
        return 0
    finally:
        db.dispose()


def _cmd_release_no_shows(args: argparse.Namespace) -> int:
    from engine.db import Database
    from engine.services.dayops import release_no_shows
    from engine.services.waitlist import expire_offers

    db = Database()
    try:
        print(release_no_shows(db))
        if not args.no_offers:
            print(expire_offers(db))
    finally:
        db.dispose()
    return 0


def _cmd_expire_offers(args: argparse.Namespace) -> int:
    from engine.db import Database
    from engine.services.waitlist import expire_offers

    db = Database()
    try:
        print(expire_offers(db))
    finally:
        db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Range-Control engine")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to the latest schema as its owner "
                   "(MIGRATION_DATABASE_URL, else DATABASE_URL) and grant the applications' "
                   "role (DATABASE_URL) least privilege").set_defaults(func=_cmd_migrate)
    p = sub.add_parser("create-admin", help="create an admin (password from "
                       "RANGE_CONTROL_ADMIN_PASSWORD, else asked twice)")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(func=_cmd_create_admin)
    p = sub.add_parser("demo", help="load a demo range complex with months of bookings")
    p.add_argument("--if-empty", action="store_true", help="do nothing when users already exist")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("check", help="verify the database: migrations at head, no approved "
                       "overlaps per resource or safety zone, complete audit trail "
                       "(exit 1 on any finding)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--database-url", help="default: DATABASE_URL")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("backup", help="dump the PostgreSQL database with pg_dump -Fc")
    p.add_argument("--out", type=Path, required=True,
                   help="file to write (e.g. rc-2030-01-07.dump)")
    p.add_argument("--database-url", help="default: MIGRATION_DATABASE_URL, else DATABASE_URL")
    p.set_defaults(func=_cmd_backup)
    p = sub.add_parser("restore", help="restore a pg_dump -Fc file into the database "
                       "(replaces its tables)")
    p.add_argument("--from", dest="source", type=Path, required=True, help="the backup file")
    p.add_argument("--database-url", help="default: MIGRATION_DATABASE_URL, else DATABASE_URL")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_cmd_restore)
    p = sub.add_parser("notify", help="send queued e-mails (booking events, reminders, the staff "
                       "digest) over SMTP until stopped; --once for a single pass")
    p.add_argument("--once", action="store_true", help="one pass, then exit (for cron)")
    p.add_argument("--batch-size", type=int, help="rows claimed per transaction "
                   "(default NOTIFY_BATCH_SIZE, 50)")
    p.add_argument("--worker-id", help="name in the claim column (default host:random)")
    p.set_defaults(func=_cmd_notify)
    p = sub.add_parser("release-no-shows", help="mark approved bookings not checked in by the "
                       "end of their grace period no_show, free their windows, and expire "
                       "waitlist offers past their time (cron: every minute; safe in parallel)")
    p.add_argument("--no-offers", action="store_true", help="do not expire waitlist offers")
    p.set_defaults(func=_cmd_release_no_shows)
    sub.add_parser("expire-waitlist-offers", help="cancel waitlist offers past their time and "
                   "pass each window to the next waiting entry"
                   ).set_defaults(func=_cmd_expire_offers)
    args = parser.parse_args(argv)
    configure_logging(service="range-control-engine")
    try:
        with log_action(f"engine.{args.command}", logger=log) as fields:
            code = args.func(args)
            fields["exit_code"] = code
            if code:
                fields["status"] = "failed"
        return code
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
