"""Snapshots (pytest-textual-snapshot) of the start screen, a lesson mid-lesson, the
sandbox and the help screen, at 120x40.

Labs run on fixed ports and the app is ``frozen``: run ids, offsets, uptime, pids and
timestamps are masked, the log pane shows one node's lines matching a fixed filter, so
each picture is the same on every run. Update them with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tuitools import free_base, idle, lab_up, wait_until

pytestmark = pytest.mark.xdist_group("tui")
SIZE = (120, 40)
LESSONS = Path(__file__).parent / "lessons"


@pytest.fixture(autouse=True)
def frozen_lessons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots show copies of two lessons, not the lessons being written."""
    monkeypatch.setenv("REDISLAB_LESSONS", str(LESSONS))


async def _lessons_loaded(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.screen.query_one("#lessons").row_count > 1)
    await pilot.pause(0.2)


async def _info_shows(pilot, screen, node: str, text: str) -> None:
    from textual.widgets import Static

    body = screen.info_pane(node).query_one("#info-body", Static)
    await wait_until(pilot, lambda: text in str(getattr(body.render(), "plain", "")),
                     what=f"{node}'s INFO pane showing {text!r}")


async def _freeze_logs(pilot, screen, node: str, pattern: str) -> None:
    from redislab.tui.widgets.log_pane import LogPane

    logs = screen.query_one(LogPane)
    await wait_until(pilot, lambda: any(n == node and pattern in ln for n, ln in logs.entries),
                     what=f"{node}'s log line {pattern!r}")
    logs.set_filter(pattern, node)


def test_start_screen(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _lessons_loaded(pilot)

    assert snap_compare(make_app(frozen=True), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await _lessons_loaded(pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "HelpScreen")

    assert snap_compare(make_app(frozen=True), terminal_size=SIZE, run_before=run_before)


def test_lesson_mid_lesson(snap_compare, make_app):
    """Lesson 1 at step 4: the replicas have joined, the old key has arrived."""
    base = free_base(3, 23790)
    if base != 23790:
        pytest.skip("ports 23790-23792 are busy: the snapshot shows them")

    async def run_before(pilot) -> None:
        await _lessons_loaded(pilot)
        await pilot.press("enter")
        screen = await lab_up(pilot)
        for step in range(3):
            await pilot.press("f2")
            await idle(pilot)
            await pilot.press("f3")
            await idle(pilot)
            assert step in screen.passed
            await pilot.press("f7")
            await idle(pilot)
        await pilot.press("f2")  # step 4: GET k1 on both replicas
        await idle(pilot)
        await wait_until(pilot, lambda: all(
            screen.model.link(n) == "up" for n in ("replica1", "replica2")))
        await _info_shows(pilot, screen, "replica2", "master_link_status:up")
        await _freeze_logs(pilot, screen, "replica2", "Finished with success")
        await pilot.pause(1.2)  # the INFO pane has caught up

    app = make_app(frozen=True, base_port=23790)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_sandbox(snap_compare, make_app):
    """A replication sandbox: master and two replicas, linked."""
    base = free_base(3, 23800)
    if base != 23800:
        pytest.skip("ports 23800-23802 are busy: the snapshot shows them")

    async def run_before(pilot) -> None:
        await _lessons_loaded(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "SandboxSetup")
        await pilot.press("down", "enter")  # replication
        screen = await lab_up(pilot)
        await wait_until(pilot, lambda: all(
            screen.model.link(n) == "up" for n in ("replica1", "replica2")))
        await wait_until(pilot, lambda: screen.console("master").input.table.docs)
        await pilot.press(*"SET k v", "enter")
        await wait_until(pilot, lambda: len(screen.console("master").log_view.lines) >= 2)
        await pilot.press(*"INFO rep")
        await _info_shows(pilot, screen, "master", "connected_slaves:2")
        await _freeze_logs(pilot, screen, "master", "Ready to accept")
        await pilot.pause(1.2)

    app = make_app(frozen=True, base_port=23800)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
