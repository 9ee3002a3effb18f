"""Password hashing with scrypt (stdlib `hashlib.scrypt`, memory-hard; no extra package).

Stored as `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>` so the cost can be raised later and old
hashes still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P, DKLEN = 2**14, 8, 1, 64  # ~16 MB and ~50 ms per hash on these machines
MIN_LENGTH = 10


class PasswordError(ValueError):
    """A password that does not meet the rules (shown to the person who typed it)."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise PasswordError("a password cannot start or end with spaces")


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=DKLEN)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; a missing or malformed hash is False (after the
    same work, so timing does not tell whether the account exists)."""
    try:
        kind, n, r, p, salt, digest = (stored or "").split("$")
        if kind != "scrypt":
            raise ValueError(kind)
        n_, r_, p_ = int(n), int(r), int(p)
        salt_b, want = base64.b64decode(salt), base64.b64decode(digest)
    except (ValueError, TypeError):
        n_, r_, p_, salt_b, want = N, R, P, b"0" * 16, b""
    got = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt_b,
        n=n_,
        r=r_,
        p=p_,
        dklen=len(want) or DKLEN,
        maxmem=256 * 1024 * 1024,
    )
    return bool(want) and hmac.compare_digest(got, want)
