"""Lesson 1 driven through the UI on the engine backend, keys only: what the panes show,
and the nodes' state read with redis-py on their addresses, as a learner would."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from tuitools import client, free_base, idle, lab_up, wait_until

# labs on ports of their own, one test at a time (scripts/test.sh uses --dist loadgroup)
pytestmark = [pytest.mark.asyncio, pytest.mark.xdist_group("tui")]


def pane_text(widget) -> str:
    """What a Static-like widget shows, as plain text."""
    rendered = widget.render()
    return getattr(rendered, "plain", str(rendered))


def console_text(screen, node: str) -> str:
    log = screen.console(node).log_view
    return "\n".join(line.text for line in log.lines)


def map_text(screen) -> str:
    from redislab.tui.widgets.topology_map import render_map

    return render_map(screen.model).plain


def info_text(screen, node: str) -> str:
    return pane_text(screen.info_pane(node).query_one("#info-body", Static))


def log_text(screen) -> str:
    from redislab.tui.widgets.log_pane import LogPane

    log = screen.query_one(LogPane).query_one("#log-lines")
    return "\n".join(line.text for line in log.lines)


async def test_start_screen_lists_lessons(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#lessons", DataTable)
        await wait_until(pilot, lambda: table.row_count > 1, what="the lessons")
        titles = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert titles[0] == "One master, two replicas"
        assert titles[-1] == "Sandbox"
        assert str(table.get_row_at(0)[4]) == "30"  # minutes
        assert "docker" in pane_text(app.screen.query_one("#backend-details"))
        assert app.screen.query_one("#backend-docker").disabled  # the probe said no
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        await pilot.press("f1")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        await pilot.press("escape", "l")
        await wait_until(pilot, lambda: app.lang == "zh")
        await wait_until(pilot, lambda: str(table.get_row_at(0)[2]) != "One master, two replicas",
                         what="the Chinese lessons")


async def test_lesson_one_with_keys_only(make_app):
    """Every step of lesson 1: F2 runs it, F3 checks it, F7 goes on."""
    app = make_app(base_port=free_base(3, 20000))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#lessons", DataTable)
        await wait_until(pilot, lambda: table.row_count > 1, what="the lessons")
        await pilot.press("enter")
        screen = await lab_up(pilot)
        steps = len(screen.lesson.steps)
        assert steps == 12
        addr = {n: screen.session.lab.address(n) for n in ("master", "replica1", "replica2")}

        # step 1: three fresh masters
        await pilot.press("f2")
        await idle(pilot)
        assert "role:master" in console_text(screen, "replica2")
        assert screen.active_node == "replica2"  # the tab follows the step's commands
        await pilot.press("f3")
        await idle(pilot)
        assert 0 in screen.passed
        assert "Step passed" in screen.query_one("#lesson").outcome_text

        # steps 2 and 3: a key, then two replicas
        for step in (1, 2):
            await pilot.press("f7")
            await idle(pilot)
            assert screen.step_index == step
            await pilot.press("f2")
            await idle(pilot)
            await pilot.press("f3")
            await idle(pilot)
            assert step in screen.passed, screen.query_one("#lesson").outcome_text
        assert client(addr["replica1"]).info("replication")["role"] == "slave"
        await wait_until(pilot, lambda: "link up" in map_text(screen) and
                         map_text(screen).count("link up") == 2, what="both links up")
        drawing = map_text(screen)
        assert "├─▶ ● replica1" in drawing and "└─▶ ● replica2" in drawing
        screen.show_node("master")
        await wait_until(pilot, lambda: "connected_slaves:2" in info_text(screen, "master"),
                         what="the master's INFO pane")
        await wait_until(pilot, lambda: "Synchronization with replica" in log_text(screen),
                         what="the master's log line")

        # the rest of the lesson, keys only
        for step in range(3, steps):
            await pilot.press("f7")
            await idle(pilot)
            await pilot.press("f2")
            await idle(pilot)
            await pilot.press("f3")
            await idle(pilot, timeout=120)
            assert step in screen.passed, (step, screen.query_one("#lesson").outcome_text)
        assert "Lesson complete" in screen.query_one("#lesson").outcome_text

        # what the learner sees is what the nodes say
        r = client(addr["replica2"], "redislab")
        assert r.dbsize() == client(addr["master"], "redislab").dbsize() >= 100_000
        assert r.get("k5") == "v5"
        progress = app.progress().get("master-two-replicas")
        assert progress.completed
    assert not app.sessions  # torn down on exit


async def test_console_typing_history_completion(make_app):
    app = make_app(base_port=free_base(3, 20100))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.screen.query_one("#lessons").row_count > 1)
        await pilot.press("enter")
        screen = await lab_up(pilot)
        console = screen.console("master")
        await wait_until(pilot, lambda: len(console.input.table) > 100, what="COMMAND DOCS")
        assert screen.focused is console.input
        await pilot.press(*"SET foo bar", "enter")
        await wait_until(pilot, lambda: "OK" in console_text(screen, "master"))
        assert client(screen.session.lab.address("master")).get("foo") == "bar"
        # replies as redis-cli prints them
        await pilot.press(*"RPUSH l a b", "enter", *"LRANGE l 0 -1", "enter",
                          *"GET nope", "enter", *"INCR foo", "enter")
        await wait_until(pilot, lambda: "(error)" in console_text(screen, "master"))
        text = console_text(screen, "master")
        assert '(integer) 2' in text and '1) "a"\n2) "b"' in text and "(nil)" in text
        assert "(error) ERR value is not an integer or out of range" in text
        # history
        await pilot.press("up")
        assert console.input.value == "INCR foo"
        await pilot.press("up", "up")
        assert console.input.value == "LRANGE l 0 -1"
        await pilot.press("down", "down", "down")
        assert console.input.value == ""
        # completion and syntax hint
        await pilot.press(*"CONFIG G", "tab")
        assert console.input.value == "CONFIG GET "
        hint = pane_text(console.query_one(".hint"))
        assert hint.startswith("CONFIG GET parameter [parameter ...]")
        await pilot.press("ctrl+u", *"zad")
        assert pane_text(console.query_one(".hint")).startswith("ZADD")
        await pilot.press("ctrl+u", *"@replica1", "enter")
        await wait_until(pilot, lambda: screen.active_node == "replica1")
        await pilot.pause(0.2)
        assert screen.focused is screen.console("replica1").input


async def test_node_actions_and_log_filter(make_app):
    app = make_app(base_port=free_base(3, 20200))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.screen.query_one("#lessons").row_count > 1)
        await pilot.press("enter")
        screen = await lab_up(pilot)
        # F8 on replica1: pause it; the map and the INFO pane say it does not answer
        screen.show_node("replica1")
        await pilot.pause(0.2)
        await pilot.press("f8")
        # keys pressed before the dialog's list has the focus and a highlight would be lost
        # (a loaded CI machine mounts it slowly)
        await wait_until(pilot, lambda: type(app.screen).__name__ == "NodeActions" and
                         getattr(app.screen.focused, "highlighted", None) == 0,
                         what="the node actions dialog, focused")
        await pilot.press("down", "down", "down")  # stop, kill, restart, pause
        await wait_until(pilot, lambda: app.screen.focused.highlighted == 3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen, what="the dialog to close")
        await wait_until(pilot, lambda: screen.model.nodes["replica1"].status == "slow",
                         timeout=20, what="replica1 paused")
        assert "no reply" in map_text(screen)
        # the action's line is written when its worker finishes, which can come after the
        # poller has already seen the node stop answering
        await wait_until(pilot, lambda: "▶ pause replica1" in console_text(screen, "replica1"),
                         timeout=30, what="the pause line in replica1's console")
        assert "kill -STOP" in console_text(screen, "replica1")  # the equivalent command
        # resume from a key (not typing: Esc leaves the console first)
        await pilot.press("escape", "U")
        await wait_until(pilot, lambda: screen.model.nodes["replica1"].status == "up",
                         timeout=20, what="replica1 resumed")
        # stop it: it shows as down
        await pilot.press("S")
        await wait_until(pilot, lambda: screen.model.nodes["replica1"].status == "down",
                         timeout=20, what="replica1 down")
        assert "down (not running)" in map_text(screen)
        # a stopped node cannot be partitioned: the error says why
        await pilot.press("X")
        await wait_until(pilot, lambda: "not running" in console_text(screen, "replica1"))
        await pilot.press("T")  # start replica1 again
        await wait_until(pilot, lambda: screen.model.nodes["replica1"].status == "up",
                         timeout=20)
        # partition on the engine: the node still answers the host, the map says it is cut
        # off, and the console shows the command a person would type
        await pilot.press("X")
        await wait_until(pilot, lambda: "partitioned" in map_text(screen), timeout=20,
                         what="replica1 shown partitioned")
        assert "DEBUG PARTITION ON" in console_text(screen, "replica1")
        await pilot.press("H")
        await wait_until(pilot, lambda: "partitioned" not in map_text(screen), timeout=20,
                         what="replica1 healed")
        # the log pane: / filters while following
        await pilot.press("escape", "slash", *"Ready to accept")
        await pilot.pause(0.3)
        shown = log_text(screen).splitlines()
        assert shown and all("Ready to accept" in ln for ln in shown)
        assert any(ln.startswith("replica1") for ln in shown)
        count = len(shown)
        await pilot.press("enter")  # back to the log; still filtered, still following
        screen.session.action("restart", "replica2")
        await wait_until(pilot, lambda: len(log_text(screen).splitlines()) > count,
                         timeout=20, what="a new matching line")
        assert all("Ready to accept" in ln for ln in log_text(screen).splitlines())


async def test_sandbox_sentinel_map(make_app):
    app = make_app(base_port=free_base(3, 20300, offsets=(0, 20000)))  # + sentinels
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.screen.query_one("#lessons").row_count > 1)
        await pilot.press("s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SandboxSetup")
        await pilot.press("down", "down", "down", "enter")  # sentinel
        screen = await lab_up(pilot)
        assert screen.shape == "sentinel"
        await wait_until(pilot, lambda: "3/3 agree" in map_text(screen), timeout=30,
                         what="the sentinels to agree")
        assert "mymaster = master" in map_text(screen)
        await pilot.press("escape", "q")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "Confirm")
        await pilot.press("y")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "StartScreen")
        await wait_until(pilot, lambda: not app.sessions, timeout=30, what="the teardown")


async def test_leave_and_resume_where_left_off(make_app):
    """Progress is kept: reopening the lesson replays the steps passed and goes on."""
    app = make_app(base_port=free_base(3, 20500))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#lessons", DataTable)
        await wait_until(pilot, lambda: table.row_count > 1)
        await pilot.press("enter")
        screen = await lab_up(pilot)
        for step in (0, 1):
            await pilot.press("f2")
            await idle(pilot)
            await pilot.press("f3")
            await idle(pilot)
            assert step in screen.passed
            if step == 0:
                await pilot.press("f7")
                await idle(pilot)
        await pilot.press("escape", "q", "y")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "StartScreen")
        await wait_until(pilot, lambda: not app.sessions, timeout=30, what="the teardown")
        await wait_until(pilot, lambda: "2/12" in str(table.get_row_at(0)[5]),
                         what="the progress mark")
        await pilot.press("enter")
        screen = await lab_up(pilot)
        await wait_until(pilot, lambda: screen.step_index == 2 and not screen.busy
                         and "Step 3/12" in pane_text(screen.query_one("#step-title")),
                         timeout=60, what="step 3, after the replay")
        assert screen.passed == {0, 1}
        master = client(screen.session.lab.address("master"))
        assert master.get("k1") == "v1"  # the replayed step 2 wrote it


async def test_reset_step_info_sections_and_palette(make_app):
    app = make_app(base_port=free_base(3, 20600))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#lessons", DataTable)
        await wait_until(pilot, lambda: table.row_count > 1)
        await pilot.press("enter")
        screen = await lab_up(pilot)
        master = client(screen.session.lab.address("master"))
        # another INFO section, picked in the pane: the poller fetches it
        from textual.widgets import Select

        screen.info_pane("master").query_one(Select).value = "server"
        await wait_until(pilot, lambda: "redis_version:" in info_text(screen, "master"),
                         what="INFO server in the pane")
        # a key typed in the console, then F9: a fresh lab at the start of the step
        await pilot.press(*"SET scratch 1", "enter")
        await wait_until(pilot, lambda: master.get("scratch") == "1")
        await pilot.press("f9")
        await idle(pilot, timeout=90)
        screen = await lab_up(pilot)
        master = client(screen.session.lab.address("master"))
        await wait_until(pilot, lambda: _answers(master), what="the new master")
        assert master.get("scratch") is None
        # the command palette offers node actions with their equivalent commands
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"pause replica2")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.model.nodes["replica2"].status == "slow",
                         timeout=20, what="replica2 paused from the palette")
        screen.node_action("resume", "replica2")
        await wait_until(pilot, lambda: screen.model.nodes["replica2"].status == "up",
                         timeout=20)


def _answers(r) -> bool:
    try:
        return r.ping()
    except Exception:
        return False
