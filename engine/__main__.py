"""`python -m engine migrate | create-admin | demo`: operator commands."""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from engine import migrate
from engine.config import get_settings
from engine.domain.permissions import Role
from engine.errors import DomainError


def _cmd_migrate(args: argparse.Namespace) -> int:
    url = get_settings().sqlalchemy_url
    migrate.upgrade(url)
    print(f"database at revision {migrate.current_revision(url)}")
    return 0


def _cmd_create_admin(args: argparse.Namespace) -> int:
    from engine.db import Database
    from engine.services.users import register_user
    from engine.bootstrap import create_first_admin

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Range-Control engine")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database (DATABASE_URL) to the latest schema"
                   ).set_defaults(func=_cmd_migrate)
    p = sub.add_parser("create-admin", help="create an admin (password from "
                       "RANGE_CONTROL_ADMIN_PASSWORD, else asked twice)")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(func=_cmd_create_admin)
    p = sub.add_parser("demo", help="load a demo range complex with months of bookings")
    p.add_argument("--if-empty", action="store_true", help="do nothing when users already exist")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
