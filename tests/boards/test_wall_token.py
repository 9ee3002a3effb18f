"""The wall redraws when its token moves (data version, late feeds, the date, firing alerts) and
only then: a poll right after the page opened changes nothing, and a load that commits while
the page draws its board is never missed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from dash.exceptions import PreventUpdate

from tests.helpers import dossier, load


def _load(wh, ids: range) -> None:
    day = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    load(wh, [dossier(f"w{i}", "Q1-BENNGHE", day) for i in ids])


def _open_wall(server) -> str:
    from dashboards import wall

    with server.test_request_context("/wall"):
        return wall.layout(lang="en", board="online")["wall-version"].data


def _poll(server, seen: str) -> str:
    from dashboards import wall

    with server.test_request_context("/_dash-update-component"):
        return wall.poll(1, seen)


def test_the_first_poll_after_opening_changes_nothing_and_a_load_moves_it(wh, server):
    _load(wh, range(5))
    token = _open_wall(server)
    with pytest.raises(PreventUpdate):
        _poll(server, token)
    _load(wh, range(5, 10))
    moved = _poll(server, token)
    assert moved != token and moved.split("|")[0] == str(wh.data_version())


def test_a_load_committing_while_the_board_draws_makes_the_next_poll_redraw(
    wh, server, monkeypatch
):
    from dashboards import wall

    _load(wh, range(5))
    real = wall.render_board

    def drawn_while_a_load_commits(*args, **kwargs):
        board = real(*args, **kwargs)
        _load(wh, range(5, 10))
        return board

    monkeypatch.setattr(wall, "render_board", drawn_while_a_load_commits)
    token = _open_wall(server)
    monkeypatch.setattr(wall, "render_board", real)
    assert _poll(server, token) != token  # the screen is brought up to the load
