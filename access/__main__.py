"""`python -m access`: accounts and wall-display tokens, straight in the users database.

    python -m access create-user NAME --role analyst            # asks for the password
    python -m access create-user head.q8 --role department_head --unit Q8 --password-stdin
    python -m access reset-password NAME                        # ends the user's sessions
    python -m access disable NAME | enable NAME
    python -m access set-role NAME --role department_head --unit Q1
    python -m access list-users
    python -m access issue-token "Lobby screen" [--base-url http://ioc.example/]
    python -m access list-tokens | revoke-token ID
    python -m access audit [--limit 50] [--action sign_in_failed]

The database is `IOC_USERS_URL`, or `<data dir>/users.sqlite` (`--data-dir`, `IOC_DATA_DIR`).
It is not the DuckDB warehouse, so this works while the app runs (changes apply within 5 s).
Every change is written to the audit log as actor "cli:<os user>".
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import replace
from pathlib import Path

from access.passwords import PasswordError
from access.store import ROLES, AccountError, UserStore
from config.settings import Settings


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m access", description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, help="IOC_DATA_DIR (default ./data)")
    p.add_argument("--url", help="IOC_USERS_URL: a SQLAlchemy URL instead of the SQLite file")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create-user")
    c.add_argument("username")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--unit", help="department_head: the unit whose subtree they see")
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c.add_argument("--no-password", action="store_true", help="sign-in only via the SSO header")
    r = sub.add_parser("reset-password")
    r.add_argument("username")
    r.add_argument("--password-stdin", action="store_true")
    for name in ("disable", "enable"):
        sub.add_parser(name).add_argument("username")
    s = sub.add_parser("set-role")
    s.add_argument("username")
    s.add_argument("--role", required=True, choices=ROLES)
    s.add_argument("--unit")
    sub.add_parser("list-users")
    i = sub.add_parser("issue-token")
    i.add_argument("name", help="which screen, e.g. 'Lobby, floor 1'")
    i.add_argument("--base-url", default="http://127.0.0.1:8050/")
    sub.add_parser("list-tokens")
    sub.add_parser("revoke-token").add_argument("id", type=int)
    a = sub.add_parser("audit")
    a.add_argument("--limit", type=int, default=50)
    a.add_argument("--action")
    args = p.parse_args(argv)

    settings = Settings.from_env()
    if args.data_dir:
        settings = replace(settings, data_dir=args.data_dir)
    if args.url:
        settings = replace(settings, users_url=args.url)
    if settings.users_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    unit_codes = None
    try:
        from config import CONFIG_DIR, load_config

        unit_codes = load_config(settings.config_dir or CONFIG_DIR).unit_codes()
    except Exception as e:  # noqa: BLE001 — accounts still work without the unit list
        print(f"note: units not checked ({e})", file=sys.stderr)
    store = UserStore(settings.users_db_url, unit_codes)
    actor = f"cli:{os.environ.get('USER') or getpass.getuser()}"
    try:
        if args.cmd == "create-user":
            pw = None if args.no_password else _password(args)
            u = store.create_user(args.username, pw, args.role, args.unit)
            store.audit(
                actor, "user.create", u.username, detail={"role": u.role, "unit": u.unit_code}
            )
            print(f"created {u.username} ({u.role}{' ' + u.unit_code if u.unit_code else ''})")
        elif args.cmd == "reset-password":
            u = store.set_password(args.username, _password(args))
            store.audit(actor, "user.reset", u.username)
            print(f"password of {u.username} changed; their sessions end")
        elif args.cmd in ("disable", "enable"):
            u = store.set_active(args.username, args.cmd == "enable")
            store.audit(actor, f"user.{args.cmd}", u.username)
            print(f"{u.username} {args.cmd}d")
        elif args.cmd == "set-role":
            u = store.set_role(args.username, args.role, args.unit)
            store.audit(
                actor, "user.role", u.username, detail={"role": u.role, "unit": u.unit_code}
            )
            print(f"{u.username} is now {u.role}{' ' + u.unit_code if u.unit_code else ''}")
        elif args.cmd == "list-users":
            for u in store.list_users():
                print(f"{u.username}\t{u.role}\t{u.unit_code or '-'}\t"
                      f"{'active' if u.active else 'disabled'}")  # fmt: skip
        elif args.cmd == "issue-token":
            t, plain = store.issue_token(args.name, actor)
            store.audit(actor, "user.issue_token", f"token {t.id}", detail={"name": t.name})
            base = args.base_url.rstrip("/")
            print(f"token {t.id} for {t.name!r} (shown once):\n{base}/wall?kiosk=1&token={plain}")
        elif args.cmd == "list-tokens":
            for t in store.list_tokens():
                state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
                print(f"{t.id}\t{t.name}\t{t.created_by}\t{t.created_at:%Y-%m-%d %H:%M}\t{state}")
        elif args.cmd == "revoke-token":
            t = store.revoke_token(args.id)
            store.audit(actor, "user.revoke_token", f"token {t.id}")
            print(f"token {t.id} ({t.name}) revoked")
        elif args.cmd == "audit":
            for e in reversed(store.audit_entries(args.limit, args.action)):
                print(f"{e['at']:%Y-%m-%d %H:%M:%S}\t{e['actor']}\t{e['action']}\t"
                      f"{e['target'] or ''}\t{'ok' if e['ok'] else 'REFUSED'}\t{e['ip'] or ''}")  # fmt: skip
    except (AccountError, PasswordError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
