"""Who may see and do what: accounts, roles, wall tokens, sessions, CSRF, audit log.

`access.web.install` wires it into the app; `python -m access` manages accounts and wall tokens;
the unit scope of a department head is enforced in `metrics/scope.py`.
"""

from access.policy import Principal
from access.store import ROLES, AccountError, UserStore

__all__ = ["ROLES", "AccountError", "Principal", "UserStore"]
