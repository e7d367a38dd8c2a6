"""Fixtures of the TUI tests.

* Every test runs with ``REDISLAB_HOME`` in its own temporary directory (labs, progress and
  history of the user are never touched) and checks no lab is left behind.
* ``make_app(...)`` builds the app as ``redislab`` does, with the backends' availability
  fixed (so the start screen looks the same on every machine), ``fast=True`` and the
  language set.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from tuitools import PROBE


@pytest.fixture(autouse=True)
def lab_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("REDISLAB_HOME", str(home))
    monkeypatch.setenv("LANG", "C.UTF-8")
    yield home
    from redislab.backends import attach, labs

    left = labs()
    for rec in left:
        try:
            attach(rec).down()
        except Exception:
            pass
    assert not left, f"labs left behind: {[r.id for r in left]}"


@pytest.fixture
def make_app() -> Callable[..., Any]:
    from redislab.tui.app import RedisLabApp

    def make(**kw: Any) -> Any:
        opts: dict[str, Any] = dict(fast=True, lang="en", probe=lambda: dict(PROBE))
        opts.update(kw)
        return RedisLabApp(**opts)

    return make
