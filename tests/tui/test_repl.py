"""`redislab cli`: the REPL driven through prompt-toolkit's pipe input, on a running lab
(as `redislab up` leaves it) and on a plain host:port."""

from __future__ import annotations

from typing import Any

import pytest

from tuitools import free_base

pytestmark = pytest.mark.xdist_group("tui")


@pytest.fixture
def lab():
    from redislab import topology
    from redislab.backends import get_backend

    from dataclasses import replace

    base = free_base(3, 20790)
    topo = topology.replication(base_port=base)
    fast = (("repl-diskless-sync-delay", ("0",)),)  # no 5 s wait before the full syncs
    topo = topology.Topology(topo.name, tuple(replace(n, config=n.config + fast)
                                              for n in topo.nodes))
    backend = get_backend("engine")
    backend.up(topo)
    yield backend
    backend.down()


def run(lines: str, **kw: Any) -> str:
    """Feed ``lines`` to the REPL (prompt-toolkit, pipe input); return what it printed."""
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from redislab.repl import repl_for, run_repl

    out: list[str] = []
    repl = repl_for(write=out.append, **kw)
    with create_pipe_input() as inp:
        inp.send_text(lines + "\x04")  # then Ctrl-D, as a person leaving
        run_repl(repl, input=inp, output=DummyOutput(), history=InMemoryHistory())
    return "\n".join(out)


def test_repl_on_a_lab(lab):
    out = run("SET k v\nGET k\n@replica1\nGET k\nSET x 1\n:node replica2\nINFO replication\n"
              "LRANGE nope 0 -1\n", node="master")
    lines = out.splitlines()
    assert lines[0] == "OK"
    assert lines[1] == '"v"'
    assert lines[2] in ('"v"', "(nil)")  # replicated by now, or about to be
    assert lines[3] == "(error) READONLY You can't write against a read only replica."
    assert "role:slave" in out and "# Replication" in out  # INFO printed raw
    assert "(empty array)" in out


def test_repl_completion_hints_and_prompt(lab):
    from redislab.repl import repl_for

    out: list[str] = []
    repl = repl_for("master", write=out.append)
    assert repl.prompt() == f"master 127.0.0.1:{lab.address('master')[1]}> "
    assert "CONFIG" in repl.completions("CONF")
    assert repl.completions("CONFIG G") == ["GET"]
    assert sorted(repl.completions("@rep")) == ["@replica1", "@replica2"]
    assert repl.completions(":node r") == ["replica1", "replica2"]
    assert repl.hint("SET ").startswith("SET key value [NX|XX] [GET]")
    repl.handle("SELECT 3")
    assert repl.prompt().endswith(":%d[3]> " % lab.address("master")[1])
    repl.handle("help GET")
    assert "GET key" in out[-1]
    repl.close()


def test_repl_on_host_port_and_dead_node(lab):
    port = lab.address("master")[1]
    out = run("PING\nDBSIZE\n", host="127.0.0.1", port=port)
    assert out.splitlines() == ["PONG", "(integer) 0"]
    lab.kill("replica2")
    out = run("GET k\n", node="replica2")
    assert out.startswith("Could not connect to Redis at 127.0.0.1:")
    assert "Connection refused" in out


def test_cli_command_without_lab(monkeypatch):
    from click.testing import CliRunner

    from redislab.cli import main

    result = CliRunner().invoke(main, ["cli"])
    assert result.exit_code != 0
    assert "no lab is running" in result.output
