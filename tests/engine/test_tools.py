"""Redis' own tools against the engine: redis-cli (--pipe, one-shot commands, RESP3) and
redis-benchmark, each compared with the same run against a real redis-server 7.0."""

from __future__ import annotations

import re
import subprocess

import pytest

from nodes import RawClient, require_binary

N_PIPE = 100_000


def _flush(node) -> None:
    with RawClient(node.port) as c:
        c.call("FLUSHALL")


def _run(args: list[str], stdin: bytes | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)


def _dbsize(node) -> bytes:
    with RawClient(node.port) as c:
        return c.call("DBSIZE")


# --------------------------------------------------------------------------- --pipe


def inline_pipe() -> bytes:
    """What the walkthrough's ``for i in $(seq 1 100000); do echo "SET k$i v$i"; done``
    produces: inline commands, one per line, ending in a bare newline."""
    return b"".join(b"SET k%d v%d\n" % (i, i) for i in range(1, N_PIPE + 1))


def resp_pipe() -> bytes:
    out = []
    for i in range(1, N_PIPE + 1):
        k, v = b"k%d" % i, b"v%d" % i
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    return b"".join(out)


@pytest.mark.parametrize("kind", ["inline", "resp"])
def test_redis_cli_pipe(engine_node, real_node, kind):
    cli = require_binary("redis-cli")
    data = inline_pipe() if kind == "inline" else resp_pipe()
    outputs = []
    for node in (real_node, engine_node):
        _flush(node)
        res = _run([cli, "-p", str(node.port), "--pipe"], stdin=data)
        text = res.stdout.decode(errors="replace")
        assert res.returncode == 0, (node.kind, text, res.stderr)
        assert f"errors: 0, replies: {N_PIPE}" in text, (node.kind, text)
        assert _dbsize(node) == b":%d\r\n" % N_PIPE
        outputs.append(text)
    with RawClient(engine_node.port) as c:
        assert c.call("GET", "k1") == b"$2\r\nv1\r\n"
        assert c.call("GET", "k100000") == b"$7\r\nv100000\r\n"
    assert outputs[1] == outputs[0]


def test_redis_cli_pipe_reports_errors_like_redis(engine_node, real_node):
    cli = require_binary("redis-cli")
    data = b"SET a 1\nINCR a\nLPUSH a x\nNOSUCH\nGET a\n"
    outs = []
    for node in (real_node, engine_node):
        _flush(node)
        res = _run([cli, "-p", str(node.port), "--pipe"], stdin=data)
        outs.append(res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace"))
    assert "errors: 2, replies: 5" in outs[0]
    assert outs[1] == outs[0]


# --------------------------------------------------------------------------- one-shot redis-cli


def _cli_outputs(node, runs: list[list[str]], stdin: bytes | None = None) -> list[str]:
    cli = require_binary("redis-cli")
    _flush(node)
    out = []
    for args in runs:
        res = _run([cli, "-p", str(node.port), *args], stdin=stdin)
        text = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
        out.append(f"$ redis-cli {' '.join(args)} (rc={res.returncode})\n{text}")
    return out


def _no_client_id(text: str) -> str:
    """Blank out HELLO's client id (a connection counter: it differs between servers) in
    every redis-cli rendering: raw (``id 12`` or ``id`` and the number on the next line),
    RESP2 array and RESP3 map."""
    text = re.sub(r'"id" => \(integer\) \d+', '"id" => (integer) <id>', text)
    text = re.sub(r"(?m)^id \d+$", "id <id>", text)
    lines = text.split("\n")
    for i in range(1, len(lines)):
        if re.search(r'(^|\) )"?id"?$', lines[i - 1].strip()):
            lines[i] = re.sub(r"\d+$", "<id>", lines[i])
    return "\n".join(lines)


CLI_RUNS = [
    ["PING"],
    ["SET", "foo", "bar"],
    ["GET", "foo"],
    ["GET", "nosuch"],
    ["--no-raw", "GET", "nosuch"],
    ["INCR", "counter"],
    ["--no-raw", "INCR", "counter"],
    ["ECHO", "hello world"],
    ["--no-raw", "ECHO", "line1\nline2"],
    ["RPUSH", "list", "a", "b", "c"],
    ["LRANGE", "list", "0", "-1"],
    ["--no-raw", "LRANGE", "list", "0", "-1"],
    ["--no-raw", "LRANGE", "nolist", "0", "-1"],
    ["HSET", "h", "f1", "v1"],
    ["--no-raw", "HGETALL", "h"],
    ["-3", "--no-raw", "HGETALL", "h"],
    ["SADD", "s", "only"],
    ["--no-raw", "SMEMBERS", "s"],
    ["ZADD", "z", "1.5", "m"],
    ["--no-raw", "ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["-3", "--no-raw", "ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["-3", "--no-raw", "ZSCORE", "z", "m"],
    ["--no-raw", "LPUSH", "foo", "x"],
    ["NOSUCH", "x"],
    ["--no-raw", "NOSUCH", "x"],
    ["GET"],
    ["-n", "1", "SET", "x", "1"],
    ["-n", "1", "DBSIZE"],
    ["DBSIZE"],
    ["--no-raw", "TYPE", "list"],
    ["EXISTS", "foo", "nosuch", "list"],
    ["-3", "--no-raw", "HELLO", "3"],
    ["-3", "HELLO", "3"],
    ["HELLO", "3"],
    ["--no-raw", "HELLO", "2"],
    ["-3", "--no-raw", "GET", "nosuch"],
]


def test_redis_cli_one_shot_commands(engine_node, real_node):
    want = [_no_client_id(t) for t in _cli_outputs(real_node, CLI_RUNS)]
    got = [_no_client_id(t) for t in _cli_outputs(engine_node, CLI_RUNS)]
    diffs = [f"redis:\n{w}engine:\n{g}" for w, g in zip(want, got) if g != w]
    assert not diffs, "\n".join(diffs)


def test_redis_cli_hello3_output(engine_node, real_node):
    runs = [["-3", "HELLO", "3"]]
    (want,), (got,) = (_cli_outputs(n, runs) for n in (real_node, engine_node))
    assert "proto\n3" in want.replace(" ", "\n")
    assert _no_client_id(got) == _no_client_id(want)


def test_redis_cli_commands_from_stdin(engine_node, real_node):
    script = (b"SET a 1\nINCR a\nGET a\nRPUSH l x y\nLRANGE l 0 -1\nMSET k1 v1 k2 v2\n"
              b"MGET k1 nosuch k2\nDEL a l\nNOSUCH\nHSET h f v\nHGET h f\n")
    want = _cli_outputs(real_node, [[]], stdin=script)
    got = _cli_outputs(engine_node, [[]], stdin=script)
    assert got == want


# --------------------------------------------------------------------------- redis-benchmark


def _benchmark(node, *extra: str) -> tuple[dict[str, str], list[str], int]:
    bench = require_binary("redis-benchmark")
    res = _run([bench, "-p", str(node.port), "-q", "-n", "10000", *extra], timeout=600)
    text = (res.stdout + res.stderr).decode(errors="replace")
    tests: dict[str, str] = {}
    other: list[str] = []
    for line in re.split(r"[\r\n]+", text):
        line = line.strip()
        if not line or line.startswith("rps=") or ": rps=" in line:  # progress lines
            continue
        m = re.match(r"^(.+?): ([0-9.]+) requests per second", line)
        if m:
            tests[m.group(1)] = m.group(2)
        else:
            other.append(line)
    return tests, other, res.returncode


def test_redis_benchmark_default_tests(engine_node, real_node):
    _flush(real_node)
    want, want_other, want_rc = _benchmark(real_node)
    _flush(engine_node)
    got, got_other, got_rc = _benchmark(engine_node)
    assert want_rc == 0 and want_other == [], want_other
    errors = [line for line in got_other if "rror" in line or "WARNING" in line]
    assert not errors, errors
    missing = [t for t in want if t not in got]
    assert not missing, f"tests missing against the engine: {missing} (output: {got_other})"
    assert got_rc == 0
    assert list(got) == list(want)
