"""Accounts, wall-display tokens and the audit log, through SQLAlchemy.

Default: a SQLite file `<data dir>/users.sqlite`, separate from the DuckDB warehouse, so the
`python -m access` CLI can change accounts while the app runs (SQLite allows that; DuckDB would
not). Any SQLAlchemy URL works (`IOC_USERS_URL`, e.g. postgresql+psycopg://...).

Times are UTC. Wall tokens are stored as SHA-256 digests: the token itself is shown once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from access.passwords import check_strength, hash_password, verify_password

ROLES = ("leader", "department_head", "analyst", "admin")
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")

meta = sa.MetaData()
users = sa.Table(
    "users", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=True),  # null: SSO only, no password
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("unit_code", sa.String(64), nullable=True),  # department_head: their unit
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),  # ends older sessions
)  # fmt: skip
wall_tokens = sa.Table(
    "wall_tokens", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)  # fmt: skip
# A signed-in browser's server-side identity: the cookie carries the id, this table says whether
# it still holds, so signing out ends it everywhere the cookie was copied.
sessions = sa.Table(
    "sessions", meta,
    sa.Column("id_sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
)  # fmt: skip
# Where each account last signed in with its password: a lock that strangers' wrong passwords
# put on an account does not keep its owner out from an address they have used.
known_addresses = sa.Table(
    "known_addresses", meta,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("ip", sa.String(64), primary_key=True),
    sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=False),
)  # fmt: skip
audit_log = sa.Table(
    "audit_log", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(160), nullable=False),  # username, "wall:<name>", "cli", "-"
    sa.Column("action", sa.String(64), nullable=False),  # sign_in, sign_in_failed, export, ...
    sa.Column("target", sa.String(255), nullable=True),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),  # JSON
)  # fmt: skip


class AccountError(ValueError):
    """A request the account rules refuse (unknown user, bad role, weak password, ...)."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    unit_code: str | None
    active: bool
    changed_at: datetime


@dataclass(frozen=True)
class WallToken:
    id: int
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime | None) -> datetime | None:
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(row: Any) -> User:
    return User(row.id, row.username, row.role, row.unit_code, bool(row.active),
                _aware(row.changed_at))  # fmt: skip


class UserStore:
    """Accounts, wall tokens and audit log in one SQL database (created on first use)."""

    def __init__(self, url: str, unit_codes: AbstractSet[str] | None = None):
        kw: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kw["connect_args"] = {"check_same_thread": False, "timeout": 15}
        self.engine = sa.create_engine(url, **kw)
        if url.startswith("sqlite"):

            @sa.event.listens_for(self.engine, "connect")
            def _wal(dbapi_con, _record):  # readers do not wait for the CLI's writes
                dbapi_con.execute("PRAGMA journal_mode=WAL")
                dbapi_con.execute("PRAGMA busy_timeout=15000")

        meta.create_all(self.engine)
        self.unit_codes = unit_codes

    # -- users ---------------------------------------------------------------------------------

    def _check(self, username: str, role: str, unit_code: str | None) -> None:
        if not username or len(username) > 64 or not set(username) <= USERNAME_CHARS:
            raise AccountError(
                "a username is 1-64 characters among lower-case letters, digits and . _ - @"
            )
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        if role == "department_head" and not unit_code:
            raise AccountError("a department head needs a unit (--unit CODE)")
        if unit_code and self.unit_codes is not None and unit_code not in self.unit_codes:
            raise AccountError(f"unknown unit {unit_code!r}")
        if role != "department_head" and unit_code:
            raise AccountError("only a department head is limited to a unit")

    def create_user(
        self, username: str, password: str | None, role: str, unit_code: str | None = None
    ) -> User:
        username = username.strip().lower()
        self._check(username, role, unit_code)
        if password is not None:
            check_strength(password)
        now = _now()
        with self.engine.begin() as con:
            if con.execute(sa.select(users.c.id).where(users.c.username == username)).first():
                raise AccountError(f"user {username!r} exists")
            con.execute(users.insert().values(
                username=username, password_hash=hash_password(password) if password else None,
                role=role, unit_code=unit_code, active=True, created_at=now, changed_at=now))  # fmt: skip
        return self.get(username)  # type: ignore[return-value]

    def get(self, username: str) -> User | None:
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(users).where(users.c.username == username.strip().lower())
            ).first()
        return _user(row) if row else None

    def get_by_id(self, user_id: int) -> User | None:
        with self.engine.connect() as con:
            row = con.execute(sa.select(users).where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self.engine.connect() as con:
            return [_user(r) for r in con.execute(sa.select(users).order_by(users.c.username))]

    def count(self) -> int:
        with self.engine.connect() as con:
            return int(con.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())

    def _update(self, username: str, **values: Any) -> User:
        """Change an account; every session of it ends (a new password, role or state)."""
        with self.engine.begin() as con:
            n = con.execute(users.update().where(users.c.username == username.strip().lower())
                            .values(changed_at=_now(), **values)).rowcount  # fmt: skip
        if not n:
            raise AccountError(f"no user {username!r}")
        user: User = self.get(username)  # type: ignore[assignment]
        self.end_sessions(user.id)
        return user

    # -- sessions ------------------------------------------------------------------------------

    def open_session(self, user_id: int) -> str:
        """A new session of `user_id`; its id is returned once (only its digest is stored)."""
        sid = secrets.token_urlsafe(32)
        with self.engine.begin() as con:
            con.execute(sessions.insert().values(id_sha256=token_digest(sid), user_id=user_id,
                                                 created_at=_now()))  # fmt: skip
        return sid

    def session_user(self, sid: str) -> int | None:
        """The user of an open session, else None (ended, or never opened)."""
        with self.engine.connect() as con:
            return con.execute(sa.select(sessions.c.user_id).where(
                sessions.c.id_sha256 == token_digest(sid or ""),
                sessions.c.ended_at.is_(None))).scalar()  # fmt: skip

    def end_session(self, sid: str) -> None:
        with self.engine.begin() as con:
            con.execute(sessions.update().where(sessions.c.id_sha256 == token_digest(sid or ""))
                        .values(ended_at=_now()))  # fmt: skip

    def end_sessions(self, user_id: int) -> None:
        with self.engine.begin() as con:
            con.execute(sessions.update().where(sessions.c.user_id == user_id,
                        sessions.c.ended_at.is_(None)).values(ended_at=_now()))  # fmt: skip

    def remember_address(self, username: str, ip: str | None) -> None:
        if not ip:
            return
        now = _now()
        key = (known_addresses.c.username == username) & (known_addresses.c.ip == ip)
        with self.engine.begin() as con:
            if not con.execute(known_addresses.update().where(key).values(last_ok_at=now)).rowcount:
                con.execute(known_addresses.insert().values(username=username, ip=ip,
                                                            last_ok_at=now))  # fmt: skip

    def known_address(self, username: str, ip: str | None, days: int = 90) -> bool:
        """Whether `username` signed in with its password from `ip` in the last `days`."""
        if not ip:
            return False
        since = _now() - timedelta(days=days)
        with self.engine.connect() as con:
            return con.execute(sa.select(known_addresses.c.ip).where(
                known_addresses.c.username == username, known_addresses.c.ip == ip,
                known_addresses.c.last_ok_at >= since)).first() is not None  # fmt: skip

    def set_password(self, username: str, password: str) -> User:
        """New password; the user's other sessions end."""
        check_strength(password)
        return self._update(username, password_hash=hash_password(password))

    def set_active(self, username: str, active: bool) -> User:
        return self._update(username, active=active)

    def set_role(self, username: str, role: str, unit_code: str | None = None) -> User:
        self._check(username.strip().lower(), role, unit_code)
        return self._update(username, role=role, unit_code=unit_code)

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this password, else None (same work either way)."""
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(users).where(users.c.username == (username or "").strip().lower())
            ).first()
        ok = verify_password(password or "", row.password_hash if row else None)
        return _user(row) if row and ok and row.active else None

    # -- wall tokens ---------------------------------------------------------------------------

    def issue_token(self, name: str, created_by: str) -> tuple[WallToken, str]:
        """A new wall-display token; the plain token is returned once and never stored."""
        if not name or len(name) > 128:
            raise AccountError("a wall token needs a name of 1-128 characters")
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as con:
            tid = con.execute(wall_tokens.insert().values(
                name=name, token_sha256=token_digest(token), created_at=_now(),
                created_by=created_by)).inserted_primary_key[0]  # fmt: skip
        return self.get_token(tid), token  # type: ignore[return-value]

    def get_token(self, token_id: int) -> WallToken | None:
        with self.engine.connect() as con:
            r = con.execute(sa.select(wall_tokens).where(wall_tokens.c.id == token_id)).first()
        return WallToken(r.id, r.name, _aware(r.created_at), r.created_by,
                         _aware(r.revoked_at)) if r else None  # fmt: skip

    def find_token(self, token: str) -> WallToken | None:
        """The active token with this value, else None."""
        with self.engine.connect() as con:
            r = con.execute(sa.select(wall_tokens.c.id).where(
                wall_tokens.c.token_sha256 == token_digest(token or ""),
                wall_tokens.c.revoked_at.is_(None))).first()  # fmt: skip
        return self.get_token(r.id) if r else None

    def list_tokens(self) -> list[WallToken]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(wall_tokens).order_by(wall_tokens.c.id)).all()
        return [WallToken(r.id, r.name, _aware(r.created_at), r.created_by, _aware(r.revoked_at))
                for r in rows]  # fmt: skip

    def revoke_token(self, token_id: int) -> WallToken:
        with self.engine.begin() as con:
            n = con.execute(wall_tokens.update().where(wall_tokens.c.id == token_id,
                            wall_tokens.c.revoked_at.is_(None)).values(revoked_at=_now())).rowcount  # fmt: skip
        if not n:
            raise AccountError(f"no active wall token {token_id}")
        return self.get_token(token_id)  # type: ignore[return-value]

    # -- audit ---------------------------------------------------------------------------------

    def audit(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        ok: bool = True,
        ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        text = json.dumps(detail, ensure_ascii=False, default=str)[:4000] if detail else None
        with self.engine.begin() as con:
            con.execute(audit_log.insert().values(
                at=_now(), actor=actor[:160], action=action[:64],
                target=(target or None) and str(target)[:255], ok=ok, ip=ip, detail=text))  # fmt: skip

    def audit_entries(self, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if action:
            q = q.where(audit_log.c.action == action)
        with self.engine.connect() as con:
            return [{**r._mapping, "at": _aware(r.at)} for r in con.execute(q)]
