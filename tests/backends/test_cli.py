"""The lab commands from a learner's shell: each command is a separate process, as when
typed one after another (`redislab up ... && redislab status && ...`)."""

from __future__ import annotations

import subprocess
import sys

import yaml

from labtools import ROOT, free_topology, lab_leftovers, new_id, run_cli, wait_for

from redislab import topology as T


def test_up_status_exec_logs_down(backend_name: str) -> None:
    """The acceptance path: up && status && exec replica1 INFO replication && down."""
    lab_id = new_id("c")
    base = free_topology(T.replication()).ports[0]
    out = run_cli("up", "replication", "--backend", backend_name, "--name", lab_id,
                  "--port", str(base)).stdout
    assert f"127.0.0.1:{base + 1}" in out and "replica1" in out
    try:
        status = run_cli("status").stdout
        assert lab_id in status and "replica2" in status and "replica" in status

        info = run_cli("exec", "--lab", lab_id, "replica1", "INFO", "replication").stdout
        assert "role:slave" in info
        assert "master_link_status:up" in info

        assert run_cli("exec", "master", "SET", "a", "250").stdout == "OK\n"
        assert run_cli("exec", "master", "WAIT", "2", "5000").stdout == "2\n"
        assert run_cli("exec", "replica2", "GET", "a").stdout == "250\n"
        readonly = run_cli("exec", "replica1", "SET", "b", "200").stdout
        assert readonly.startswith("READONLY You can't write against a read only replica")

        logs = run_cli("logs", "--lab", lab_id, "master").stdout
        assert "Ready to accept connections" in logs
        tail = run_cli("logs", "-n", "2", "master").stdout
        assert len(tail.splitlines()) == 2
    finally:
        down = run_cli("down", lab_id).stdout
    assert f"lab {lab_id} removed" in down
    assert lab_leftovers(lab_id) == []


def test_errors_are_clear(backend_name: str) -> None:
    res = run_cli("exec", "--lab", "no-such-lab", "master", "PING", check=False)
    assert res.returncode == 1 and "no lab named 'no-such-lab'" in res.stderr
    res = run_cli("up", "nonsense", "--backend", backend_name, check=False)
    assert res.returncode == 1 and "unknown topology 'nonsense'" in res.stderr
    res = run_cli("down", "no-such-lab", check=False)
    assert res.returncode == 1


def test_up_from_a_yaml_file(tmp_path, backend_name: str) -> None:
    lab_id = new_id("y")
    base = free_topology(T.standalone(2)).ports[0]
    spec = tmp_path / "two.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "two",
        "password": "123456",
        "nodes": [
            {"name": "master", "port": base, "config": {"rename-command": ["KEYS", ""],
                                                         "repl-diskless-sync-delay": 0}},
            {"name": "slave-1", "port": base + 1, "replicaof": "master"},
        ],
    }))
    run_cli("up", str(spec), "--backend", backend_name, "--name", lab_id)
    try:
        out = run_cli("exec", "--lab", lab_id, "master", "KEYS", "*").stdout
        assert "unknown command 'KEYS'" in out
        out = run_cli("exec", "--lab", lab_id, "slave-1", "INFO", "replication").stdout
        assert "role:slave" in out
    finally:
        run_cli("down", lab_id)
    assert lab_leftovers(lab_id) == []


def test_down_all(backend_name: str) -> None:
    ids = [new_id("a"), new_id("a")]
    for lab_id in ids:
        base = free_topology(T.standalone(1)).ports[0]
        run_cli("up", "standalone", "--backend", backend_name, "--name", lab_id,
                "--port", str(base))
    out = run_cli("down", "--all").stdout
    for lab_id in ids:
        assert f"lab {lab_id} removed" in out
        assert lab_leftovers(lab_id) == []


def test_tty_formatting() -> None:
    """Replies print as redis-cli prints them on a terminal."""
    import redis

    from redislab.backends.base import Status
    from redislab.cli_lab import format_raw, format_tty

    assert format_tty(Status(b"OK")) == "OK\n"
    assert format_tty(b"250") == '"250"\n'
    assert format_tty(None) == "(nil)\n"
    assert format_tty(3) == "(integer) 3\n"
    assert format_tty([]) == "(empty array)\n"
    assert format_tty(redis.ResponseError("READONLY x")) == "(error) READONLY x\n"
    assert format_tty([b"a", [b"b", 1]]) == '1) "a"\n2) 1) "b"\n   2) (integer) 1\n'
    assert format_tty([b"x"] * 10).splitlines()[0] == ' 1) "x"'
    assert format_tty(b"a\nb\"\x01") == '"a\\nb\\"\\x01"\n'
    assert format_raw([b"a", b"b"]) == "a\nb\n"


def test_help_lists_the_lab_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "redislab", "--help"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60).stdout
    for cmd in ("up", "status", "exec", "logs", "down", "export", "image"):
        assert f"  {cmd} " in out


def test_node_actions_from_the_shell(backend_name: str) -> None:
    """`redislab node ACTION NODE` breaks a lab one node at a time, printing the command a
    person would type; what a backend cannot do is a clear error."""
    lab_id = new_id("n")
    base = free_topology(T.replication()).ports[0]
    run_cli("up", "replication", "--backend", backend_name, "--name", lab_id, "--port",
            str(base))
    try:
        out = run_cli("node", "--lab", lab_id, "kill", "replica1").stdout
        assert "$ " in out and "replica1 killed" in out
        assert "down" in _row(run_cli("status", "--lab", lab_id).stdout, "replica1")
        assert "replica1 started" in run_cli("node", "--lab", lab_id, "start", "replica1").stdout
        bad = run_cli("node", "--lab", lab_id, "stop", "nosuch", check=False)
        assert bad.returncode != 0 and "master, replica1, replica2" in bad.stderr
        res = run_cli("node", "--lab", lab_id, "partition", "replica1", check=False)
        if backend_name == "process":
            assert res.returncode != 0 and "not supported on the process backend" in res.stderr
            return
        assert res.returncode == 0 and "cut off from the other nodes" in res.stdout
        assert "partitioned" in _row(run_cli("status", "--lab", lab_id).stdout, "replica1")
        run_cli("exec", "--lab", lab_id, "master", "SET", "p", "1")
        run_cli("node", "--lab", lab_id, "heal", "replica1")
        wait_for(lambda: run_cli("exec", "--lab", lab_id, "replica1", "GET", "p").stdout == "1\n",
                 timeout=30, what="replica1 catching up after heal")
    finally:
        run_cli("down", lab_id)


def _row(table: str, node: str) -> str:
    return next(ln for ln in table.splitlines() if f" {node} " in ln)
