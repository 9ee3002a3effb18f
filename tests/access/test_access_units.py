"""Access pieces without a server: password hashes, accounts, wall tokens, the failure limiter,
the unit scope every metrics read checks, and the callback → page mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from access.passwords import PasswordError, hash_password, verify_password
from access.ratelimit import FailureLimiter
from access.store import AccountError, UserStore
from config import load_config
from metrics import scope
from metrics.alerts.escalation import escalation_counts, escalation_list
from metrics.dossiers import overdue
from metrics.query import query


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture
def store(tmp_path, config):
    return UserStore(f"sqlite:///{tmp_path / 'users.sqlite'}", config.unit_codes())


def test_password_hash_is_salted_scrypt_and_verifies_only_the_password():
    a, b = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert a.startswith("scrypt$") and a != b
    assert verify_password("correct horse battery", a)
    assert not verify_password("correct horse batterY", a)
    assert not verify_password("anything", None) and not verify_password("x", "garbage$$")


def test_accounts_refuse_bad_roles_units_and_weak_passwords(store):
    with pytest.raises(AccountError, match="unknown role"):
        store.create_user("x", "long-enough-pw", "boss")
    with pytest.raises(AccountError, match="needs a unit"):
        store.create_user("x", "long-enough-pw", "department_head")
    with pytest.raises(AccountError, match="unknown unit"):
        store.create_user("x", "long-enough-pw", "department_head", "NOWHERE")
    with pytest.raises(PasswordError):
        store.create_user("x", "short", "analyst")
    with pytest.raises(AccountError, match="username"):
        store.create_user("x'; DROP TABLE users; --", "long-enough-pw", "analyst")
    u = store.create_user("Head.Q8", "long-enough-pw", "department_head", "Q8")
    assert (u.username, u.unit_code) == ("head.q8", "Q8")
    with pytest.raises(AccountError, match="exists"):
        store.create_user("head.q8", "long-enough-pw", "analyst")
    assert store.authenticate("HEAD.Q8", "long-enough-pw") == store.get("head.q8")
    store.set_active("head.q8", False)
    assert store.authenticate("head.q8", "long-enough-pw") is None


def test_a_password_reset_changes_the_stamp_that_sessions_carry(store):
    u = store.create_user("lan", "long-enough-pw", "leader")
    v = store.set_password("lan", "another-long-pw")
    assert v.changed_at > u.changed_at
    assert store.authenticate("lan", "long-enough-pw") is None
    assert store.authenticate("lan", "another-long-pw") is not None


def test_wall_tokens_are_stored_as_digests_and_can_be_revoked(store, tmp_path):
    t, plain = store.issue_token("Lobby", "admin")
    assert plain not in (tmp_path / "users.sqlite").read_bytes().decode("latin-1")
    assert store.find_token(plain).id == t.id
    store.revoke_token(t.id)
    assert store.find_token(plain) is None
    with pytest.raises(AccountError):
        store.revoke_token(t.id)


def test_failure_limiter_blocks_after_the_limit_until_the_window_passes():
    now = [0.0]
    lim = FailureLimiter(3, 60, clock=lambda: now[0])
    for _ in range(3):
        assert lim.blocked_for("u:a") == 0
        lim.fail("u:a")
    assert 59 < lim.blocked_for("u:a") <= 60
    assert lim.blocked_for("u:b") == 0
    now[0] = 61
    assert lim.blocked_for("u:a") == 0


def test_scope_is_the_subtree_and_a_moved_unit_belongs_to_neither_side(config):
    with scope.restricted("Q8"):
        assert scope.allows(config, "Q8") and scope.allows(config, "Q8-P04")
        assert not scope.allows(config, None) and not scope.allows(config, "Q1")
        assert not scope.allows(config, "HCM")
    assert scope.allows(config, "Q1")  # no scope set: background jobs read the city
    moved = [u for u in config.units if sum(v.code == u.code for v in config.units) > 1]
    for u in moved[:5]:
        parents = {v.parent_code for v in config.units if v.code == u.code}
        if len(parents) > 1:
            for p in parents:
                with scope.restricted(p):
                    assert not scope.allows(config, u.code)


def test_metrics_reads_outside_the_scope_raise_before_any_sql(config):
    class NoSql:
        def execute(self, *a, **k):
            raise AssertionError("SQL ran for a unit outside the scope")

        sql = execute

    scope.use_config(config)
    with scope.restricted("Q8"):
        with pytest.raises(scope.ScopeError):
            query(NoSql(), config, ["online_rate"], "month", date(2026, 1, 1), date(2026, 2, 1),
                  {"unit": "Q1"})  # fmt: skip
        with pytest.raises(scope.ScopeError):
            query(NoSql(), config, ["online_rate"], "month", date(2026, 1, 1), date(2026, 2, 1))
        with pytest.raises(scope.ScopeError):
            overdue(NoSql(), "Q1-BENNGHE", date(2026, 1, 1), date(2026, 2, 1))
        now = datetime(2026, 2, 1, tzinfo=UTC)
        for unit in ("Q1", None):  # another district, the whole city
            with pytest.raises(scope.ScopeError):
                escalation_counts(NoSql(), now, unit=unit)
            with pytest.raises(scope.ScopeError):
                escalation_list(NoSql(), now, unit=unit)


CALLBACK_MAP = {  # as Dash declares them (dash.Dash.callback_map)
    "explore-download.data": {"inputs": [{"id": "explore-csv", "property": "n_clicks"}],
                              "state": []},
    "sources-message.children": {
        "inputs": [{"id": '{"feed":["ALL"],"type":"sources-run"}', "property": "n_clicks"}],
        "state": []},
}  # fmt: skip


def test_callback_requests_map_to_their_pages():
    from access import web

    cb = web._callback_request({
        "output": "explore-download.data",
        "outputs": {"id": "explore-download", "property": "data"},
        "inputs": [{"id": "explore-csv", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["explore-csv.n_clicks"],
    }, CALLBACK_MAP)  # fmt: skip
    assert cb.download and not cb.actions
    cb = web._callback_request({
        "output": "sources-message.children",
        "outputs": {"id": "sources-message", "property": "children"},
        "inputs": [[{"id": {"type": "sources-run", "feed": "f"}, "property": "n_clicks"}]],
        "changedPropIds": ['{"feed":"f","type":"sources-run"}.n_clicks'],
    }, CALLBACK_MAP)  # fmt: skip
    assert cb.actions == [("feed.run", ("admin",))]
