"""``python -m labeling users ...``: list accounts, add one, set or reset a password, change a
role, deactivate and reactivate.

Split out of ``cli`` (the project rule: a module past ~600 lines is split by subject).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TextIO

from labeling import accounts, auth
from labeling.cli_common import UsageError, open_database
from labeling.config import Settings


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise UsageError("pass the password on standard input with --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UsageError("the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    make_session = open_database(settings)
    if args.users_command == "list":
        with make_session() as session:
            users = [
                {"username": u.username, "role": u.role, "active": u.active}
                for u in auth.list_users(session)
            ]
        if args.json:
            json.dump(users, out, indent=2)
            out.write("\n")
        else:
            out.write(f"{'username':<24} {'role':<10} active\n")
            for user in users:
                out.write(f"{user['username']:<24} {user['role']:<10} {user['active']}\n")
        return 0
    if args.users_command == "add":
        password = _read_password(args)
        with make_session.begin() as session:
            accounts.create_account(session, args.name, password, args.role)
        out.write(f"created {args.role} {args.name}\n")
    elif args.users_command == "passwd":
        password = _read_password(args)
        with make_session.begin() as session:
            accounts.set_password(session, args.name, password, must_change=args.must_change)
        later = " (to be changed at the next sign-in)" if args.must_change else ""
        out.write(f"password of {args.name} changed{later}\n")
    elif args.users_command == "reset-password":
        with make_session.begin() as session:
            one_time = accounts.reset_password(session, args.name)
        out.write(
            f"one-time password for {args.name}: {one_time}\n"
            "(shown once; it must be changed at the next sign-in)\n"
        )
    elif args.users_command == "reactivate":
        with make_session.begin() as session:
            accounts.reactivate(session, args.name)
        out.write(f"reactivated {args.name}\n")
    elif args.users_command == "set-role":
        with make_session.begin() as session:
            auth.set_role(session, args.name, args.role)
        out.write(f"{args.name} is now {args.role}\n")
    elif args.users_command == "deactivate":
        with make_session.begin() as session:
            auth.deactivate(session, args.name)
        out.write(f"deactivated {args.name}\n")
    return 0
