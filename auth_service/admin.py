"""Operator commands: ``python -m auth_service create-user NAME [--role user|admin]``.

The password comes from ``OPTIONSFLOW_PASSWORD`` (read with the other settings) or, when
that is unset, the first line of standard input (a prompt on a terminal), never from the
command line where ``ps`` and shell history would show it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

import orjson
from marshmallow import ValidationError

from auth_service import accounts
from auth_service.tokens import Role
from common.api.auth import RegisterBody, UserPublic
from common.settings import Settings, SettingsError, load_settings
from common.web.errors import flatten_messages
from store import DuplicateUser, StoreError, open_store

EXIT_OK, EXIT_TAKEN, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m auth_service")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create a user (e.g. the first admin)")
    create.add_argument("username")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.USER.value)
    return parser


def read_password(settings: Settings, stdin: TextIO) -> str:
    if settings.create_user_password is not None:
        return settings.create_user_password
    if stdin.isatty():
        return getpass.getpass("password: ")
    return stdin.readline().rstrip("\r\n")


def create_user(username: str, role: Role, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    try:
        body = RegisterBody().load(
            {"username": username, "password": read_password(settings, stdin)}
        )
    except ValidationError as exc:
        for field, messages in sorted(flatten_messages(exc.messages).items()):
            err.write(f"{field}: {' '.join(messages)}\n")
        return EXIT_USAGE
    try:
        store = open_store(settings.store_url)
    except (ValueError, StoreError) as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    try:
        user = accounts.register(store, body["username"], body["password"], role)
    except DuplicateUser:
        err.write(f"username {body['username']!r} is taken\n")
        return EXIT_TAKEN
    finally:
        store.close()
    out.write(orjson.dumps(UserPublic().dump(user)).decode() + "\n")
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run a command; the process exit status (0 done, 1 username taken, 2 bad input)."""
    args = _parser().parse_args(argv)
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    if args.command == "create-user":
        return create_user(args.username, Role(args.role), stdin, out, err)
    raise AssertionError(f"unhandled command {args.command}")  # argparse allows no other
