"""Server commands (INFO, COMMAND, CONFIG RESETSTAT, TIME, SLOWLOG, MONITOR, DEBUG, LATENCY,
MEMORY, SWAPDB, SHUTDOWN) compared with a real redis-server 7.0."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import termios
import time

import pytest

from nodes import RawClient, require_binary
from test_config import parse


def info_fields(client: RawClient, *sections: str) -> dict[str, list[str]]:
    raw = parse(client.call("INFO", *sections)).decode()
    out: dict[str, list[str]] = {}
    cur = None
    for line in raw.split("\r\n"):
        if line.startswith("# "):
            cur = line[2:]
            out[cur] = []
        elif line:
            assert cur is not None and ":" in line, line
            out[cur].append(line)
    return out


def names(lines: list[str]) -> list[str]:
    return [line.split(":", 1)[0] for line in lines]


def workload(c: RawClient) -> None:
    c.call("SET", "k", "v")
    c.call("SET", "t", "v", "EX", "100")
    c.call("GET", "k")
    c.call("GET", "nokey")
    c.call("NOSUCHCMD")
    c.call("GET")
    c.call("INCR", "k")
    c.call("CONFIG", "GET", "hz")


UNORDERED = {"Commandstats", "Errorstats", "Latencystats", "Keyspace"}


@pytest.mark.parametrize("sections", [(), ("everything",), ("all",), ("default",),
                                      ("server", "clients"), ("memory",), ("stats",),
                                      ("persistence",), ("replication",), ("cpu",),
                                      ("commandstats",), ("keyspace",), ("CPU", "Modules")])
def test_info_field_names_and_order(real, engine, sections):
    for c in (real, engine):
        workload(c)
    want, got = info_fields(real, *sections), info_fields(engine, *sections)
    assert list(got) == list(want)
    for section, lines in want.items():
        if section in UNORDERED:
            continue
        assert names(got[section]) == names(lines), section


def test_info_stat_lines_after_resetstat(both, real, engine):
    both("CONFIG", "RESETSTAT")
    for c in (real, engine):
        workload(c)
        c.call("SET", "x")  # arity error: rejected
        c.call("INCR", "k")  # failed (not an integer)
        c.call("CONFIG", "NOSUCH")
    both("INFO", "errorstats")
    want = info_fields(real, "commandstats")["Commandstats"]
    # (the dispatcher counts an unknown subcommand on its container; Redis does not)
    got = [x for x in info_fields(engine, "commandstats")["Commandstats"]
           if not x.startswith("cmdstat_config:calls=0,")]
    strip = lambda ls: sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", x) for x in ls)
    assert strip(got) == strip(want)
    want = names(info_fields(real, "latencystats")["Latencystats"])
    got = names(info_fields(engine, "latencystats")["Latencystats"])
    assert sorted(got) == sorted(want)
    for line in info_fields(engine, "latencystats")["Latencystats"]:
        assert re.fullmatch(r"latency_percentiles_usec_[\w|\-]+:p50=\d+\.\d{3},p99=\d+\.\d{3},"
                            r"p99\.9=\d+\.\d{3}", line), line
    stats = dict(x.split(":", 1) for x in info_fields(engine, "stats")["Stats"])
    assert stats["total_error_replies"] == dict(
        x.split(":", 1) for x in info_fields(real, "stats")["Stats"])["total_error_replies"]
    assert int(stats["keyspace_hits"]) >= 1 and int(stats["keyspace_misses"]) >= 1


def test_info_exact_bytes_where_deterministic(both):
    both("INFO", "nosuch")
    both("INFO", "modules")
    both("INFO", "cluster")
    both("INFO", "modules", "cluster", "nosuch")
    both("SET", "a", "1")
    both("SET", "b", "1")
    both("SELECT", "3")
    both("SET", "c", "1")
    both("INFO", "keyspace")
    both("INFO", "Keyspace", "CLUSTER")
    both.real.call("HELLO", "3")
    both.engine.call("HELLO", "3")
    both("INFO", "nosuch")
    both("INFO", "cluster", "keyspace")


def test_info_values(engine, engine_node):
    info = {}
    for lines in info_fields(engine, "everything").values():
        for line in lines:
            k, v = line.split(":", 1)
            info[k] = v
    assert info["tcp_port"] == str(engine_node.port)
    assert info["process_id"] == str(engine_node.proc.pid)
    assert info["redis_version"] == "7.0.15"
    assert re.fullmatch(r"[0-9a-f]{40}", info["run_id"])
    assert int(info["used_memory"]) > 0 and info["used_memory_human"].endswith(("K", "M", "G"))
    assert re.fullmatch(r"\d+\.\d{6}", info["used_cpu_user"])
    assert int(info["connected_clients"]) >= 1
    assert int(info["total_commands_processed"]) > 0
    assert info["role"] == "master" or "role" in info


# --------------------------------------------------------------------------- COMMAND


def _engine_command_names(engine: RawClient) -> list[bytes]:
    return [e[0] for e in parse(engine.call("COMMAND"))]


def test_command_count_is_the_engines_table(engine):
    count = parse(engine.call("COMMAND", "COUNT"))
    assert count == len(parse(engine.call("COMMAND")))
    assert count == len(parse(engine.call("COMMAND", "INFO")))
    assert count == len(parse(engine.call("COMMAND", "DOCS"))) // 2


@pytest.mark.parametrize("resp", ["2", "3"])
def test_command_info_and_docs_match_real(real, engine, resp):
    real.call("HELLO", resp)
    engine.call("HELLO", resp)
    real_count = parse(real.call("COMMAND", "COUNT"))
    checked = 0
    for name in _engine_command_names(engine):
        subs_real = parse(real.call("COMMAND", "LIST", "FILTERBY", "PATTERN", name + b"|*"))
        subs_eng = parse(engine.call("COMMAND", "LIST", "FILTERBY", "PATTERN", name + b"|*"))
        if not subs_eng:
            if not parse(real.call("COMMAND", "INFO", name))[0]:
                continue  # not a Redis 7.0 command
            for sub in ("INFO", "DOCS"):
                assert engine.call("COMMAND", sub, name) == real.call("COMMAND", sub, name), name
            checked += 1
        else:
            # containers: Redis lists subcommands in hash order; compare each subcommand
            assert set(subs_eng) - set(subs_real) <= {b"client|setinfo"}, name
            for sub_name in set(subs_eng) & set(subs_real):
                for sub in ("INFO", "DOCS"):
                    assert engine.call("COMMAND", sub, sub_name) == real.call(
                        "COMMAND", sub, sub_name), sub_name
            checked += 1
    assert checked > 100 and real_count == 240


def test_command_errors_and_help(both):
    both("COMMAND", "HELP")
    both("COMMAND", "NOSUCH")
    both("COMMAND", "COUNT", "x")
    both("COMMAND", "INFO", "nosuch", "get")
    both("COMMAND", "DOCS", "nosuch")
    both("COMMAND", "INFO", "config|get", "get|x", "config|nosuch", "a|b|c")
    both("COMMAND", "LIST", "FILTERBY", "foo", "bar")
    both("COMMAND", "LIST", "x")
    both.unordered("COMMAND", "LIST", "FILTERBY", "PATTERN", "config*")
    both("COMMAND", "LIST", "FILTERBY", "MODULE", "x")
    both("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuchcat")


@pytest.mark.parametrize("args", [
    ["get", "a"], ["set", "a", "b"], ["mset", "a", "1", "b", "2"], ["del", "a", "b", "c"],
    ["ping"], ["get"], ["nosuch", "a"], ["config", "get", "x"], ["echo", "a"],
    ["object", "encoding", "k"], ["memory", "usage", "k"], ["rename", "a", "b"],
    ["expire", "a", "10"], ["config", "nosuch"], ["set", "a", "b", "GET"],
])
def test_command_getkeys(both, args):
    both("COMMAND", "GETKEYS", *args)
    both("COMMAND", "GETKEYSANDFLAGS", *args)


def test_command_list_is_a_subset_of_real(real, engine):
    real_list = set(parse(real.call("COMMAND", "LIST")))
    eng_list = parse(engine.call("COMMAND", "LIST"))
    extra = set(eng_list) - real_list
    assert extra <= {b"client|setinfo"}  # (a 7.2 subcommand another family provides)
    for cat in ("read", "admin", "connection"):
        got = set(parse(engine.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", cat)))
        want = set(parse(real.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", cat)))
        assert got <= want and got, cat


def test_redis_cli_interactive_hints(engine_node, engine):
    """redis-cli 7 asks COMMAND DOCS when it starts and shows argument hints from it."""
    cli = require_binary("redis-cli")
    engine.call("CONFIG", "RESETSTAT")
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child
        os.environ["TERM"] = "xterm"
        os.execv(cli, [cli, "-p", str(engine_node.port)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))

    def read(seconds: float) -> bytes:
        out = b""
        end = time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                out += chunk
                if b"\x1b[6n" in chunk:  # linenoise asks where the cursor is
                    os.write(fd, b"\x1b[1;1R")
        return out

    try:
        read(1.0)
        os.write(fd, b"CONFIG SET ")
        shown = read(1.0)
        os.write(fd, b"\x15SET ")
        shown_set = read(1.0)
        os.write(fd, b"\x15quit\r")
        read(0.3)
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    assert b"parameter value [parameter value ...]" in shown
    assert b"key value [NX|XX] [GET]" in shown_set
    stats = info_fields(engine, "commandstats")["Commandstats"]
    assert any(line.startswith("cmdstat_command|docs:calls=1,") for line in stats), stats


# --------------------------------------------------------------------------- misc commands


def test_time(both, engine):
    both("TIME", "x")
    sec, usec = parse(engine.call("TIME"))
    assert abs(int(sec) - time.time()) < 5 and 0 <= int(usec) < 1_000_000


def test_swapdb(both, real, engine):
    both("SET", "a", "db0")
    both("SELECT", "1")
    both("SET", "b", "db1")
    both("SWAPDB", "0", "1")
    both("GET", "a")
    both("GET", "b")
    both("SELECT", "0")
    both("GET", "b")
    both("SWAPDB", "0", "0")
    both("SWAPDB", "0", "x")
    both("SWAPDB", "x", "0")
    both("SWAPDB", "0", "16")
    both("SWAPDB", "-1", "0")
    both("SWAPDB", "0")
    both("INFO", "keyspace")
    both("SWAPDB", "1", "0")


def test_swapdb_touches_watched_keys(both, real_node, engine_node):
    from nodes import RawClient as RC

    for node in (real_node, engine_node):
        with RC(node.port) as a, RC(node.port) as b:
            a.call("WATCH", "w")
            b.call("SELECT", "1")
            b.call("SET", "w", "1")
            b.call("SWAPDB", "0", "1")
            a.call("MULTI")
            a.call("PING")
            assert a.call("EXEC") == b"*-1\r\n", node.kind
            b.call("SWAPDB", "0", "1")


def test_memory_usage(both, real, engine):
    for args in (["SET", "a", "1"], ["SET", "foo", "bar"], ["SET", "big", "x" * 100],
                 ["SET", "b2", "y" * 44], ["SET", "k" * 36, "v"], ["SET", "n", "-123456789"],
                 ["SET", "huge", "z" * 70000], ["HSET", "h", "a", "1", "b", "2"],
                 ["SADD", "s", "1", "2", "3"], ["SADD", "s2", "a", "b", "c"],
                 ["ZADD", "z", "1", "a", "2", "b"]):
        both(*args)
        both("MEMORY", "USAGE", args[1])
    both("MEMORY", "USAGE", "nosuch")
    both("MEMORY", "USAGE", "a", "SAMPLES", "-1")
    both("MEMORY", "USAGE", "a", "SAMPLES", "x")
    both("MEMORY", "USAGE", "a", "foo")
    both("MEMORY", "USAGE", "a", "SAMPLES", "0")
    both("RPUSH", "l", "a", "b", "c")
    assert parse(engine.call("MEMORY", "USAGE", "l")) > 100


def test_memory_misc(both, real, engine):
    both("MEMORY", "HELP")
    both("MEMORY", "NOSUCH")
    both("MEMORY", "DOCTOR")  # empty instance: the same report
    stats_real = parse(real.call("MEMORY", "STATS"))
    stats_eng = parse(engine.call("MEMORY", "STATS"))
    assert stats_eng[0::2] == stats_real[0::2]
    assert engine.call("MEMORY", "PURGE") == b"+OK\r\n"


def test_help_texts(both):
    both("SLOWLOG", "HELP")
    both("LATENCY", "HELP")
    both("CONFIG", "HELP")
    both("config", "help")


# --------------------------------------------------------------------------- SLOWLOG


def test_slowlog(both, real, engine):
    for c in (real, engine):
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        c.call("CLIENT", "SETNAME", "sl")
    try:
        both("SLOWLOG", "RESET")
        both("SET", "key", "value")
        both("GET", "key")
        both("ECHO", "x" * 200)
        both("CONFIG", "SET", "masterauth", "secret")
        both("CONFIG", "SET", "masterauth", "")
        both("SLOWLOG", "LEN")
        entries = []
        for c in (real, engine):
            got = parse(c.call("SLOWLOG", "GET"))
            entries.append([(e[3], e[5]) for e in got])
            for e in got:
                assert isinstance(e[0], int) and abs(e[1] - time.time()) < 10 and e[2] >= 0
                assert re.fullmatch(rb"127\.0\.0\.1:\d+", e[4])
        assert entries[1] == entries[0]
        one = [parse(c.call("SLOWLOG", "GET", "1")) for c in (real, engine)]
        assert [e[3] for e in one[1]] == [e[3] for e in one[0]] == [[b"SLOWLOG", b"GET"]]
        both("SLOWLOG", "GET", "-2")
        both("SLOWLOG", "GET", "abc")
        both("SLOWLOG", "GET", "0")
        both("SLOWLOG", "LEN", "x")
        both("SLOWLOG", "NOSUCH")
        both("SLOWLOG", "RESET")
        both("SLOWLOG", "LEN")
    finally:
        for c in (real, engine):
            c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            c.call("SLOWLOG", "RESET")


# --------------------------------------------------------------------------- MONITOR


def _monitor_lines(node, commands: list[list[str]], expect: int) -> list[bytes]:
    with RawClient(node.port) as mon, RawClient(node.port) as c:
        assert mon.call("MONITOR") == b"+OK\r\n"
        for args in commands:
            c.call(*args)
        out = []
        for _ in range(expect):
            out.append(mon.read_reply())
        # a second MONITOR on the same connection is ignored (no reply)
        mon.send_raw(b"*1\r\n$7\r\nMONITOR\r\n")
        mon.sock.settimeout(0.3)
        with pytest.raises(OSError):
            mon.read_reply()
    return out


def test_monitor_output(real_node, engine_node):
    # (SELECT is left out: Redis feeds monitors after running a command, so SELECT shows
    # the new db there; the engine's dispatcher feeds them before)
    commands = [["SET", "m", "v a\"l\n"], ["GET", "m"], ["AUTH", "x", "y"], ["HELLO", "2"],
                ["HELLO", "2", "SETNAME", "n", "AUTH", "default", "pw"], ["ECHO", "\xff"],
                ["CONFIG", "GET", "hz"], ["PING"]]
    fed = [c for c in commands if c[0] != "CONFIG"]  # admin commands are not shown
    out = []
    for node in (real_node, engine_node):
        lines = _monitor_lines(node, commands, len(fed))
        out.append([re.sub(rb"^\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]", rb"+TS [\1 ADDR]", x)
                    for x in lines])
    assert out[1] == out[0]


# --------------------------------------------------------------------------- DEBUG / LATENCY


def test_debug_disabled_by_default(both):
    both("DEBUG", "SLEEP", "0")
    both("DEBUG", "HELP")


@pytest.fixture(scope="module")
def debug_nodes():
    from nodes import Node

    nodes = [Node(kind, args=["--enable-debug-command", "yes"]) for kind in ("real", "engine")]
    for n in nodes:
        n.start()
    yield nodes
    for n in nodes:
        n.stop()


def without_engine_only_help(reply: bytes) -> bytes:
    """DEBUG HELP without the engine's own entry (PARTITION: its line and two of text)."""
    lines = reply.split(b"\r\n")
    i = lines.index(b"+PARTITION <ON|OFF>")
    del lines[i:i + 3]
    lines[0] = b"*%d" % (int(lines[0][1:]) - 3)
    return b"\r\n".join(lines)


def test_debug_commands(debug_nodes):
    real_node, engine_node = debug_nodes
    with RawClient(real_node.port) as r, RawClient(engine_node.port) as e:
        for args in (["DEBUG", "SLEEP", "0"], ["DEBUG", "SLEEP", "0.01"],
                     ["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
                     ["DEBUG", "OBJECT", "nosuch"], ["DEBUG", "NOSUCH"], ["DEBUG", "SLEEP"],
                     ["DEBUG", "ERROR", "boom"], ["DEBUG", "ERROR", "WRONG stuff"],
                     ["DEBUG", "LOG", "hello"], ["DEBUG"]):
            assert e.call(*args) == r.call(*args), args
        # the engine's DEBUG HELP also lists its own DEBUG PARTITION
        assert without_engine_only_help(e.call("DEBUG", "HELP")) == r.call("DEBUG", "HELP")
        for c in (r, e):
            c.call("SET", "s", "12345")
            c.call("SET", "t", "hello world")
            c.call("RPUSH", "l", "a", "b")
        for key in ("s", "t", "l"):
            want = parse(r.call("DEBUG", "OBJECT", key)).decode()
            got = parse(e.call("DEBUG", "OBJECT", key)).decode()
            shape = lambda s: re.sub(r"(Value at:)0x[0-9a-f]+|(lru:)\d+|(serializedlength:)\d+"
                                     r"|(lru_seconds_idle:)\d+|(ql_uncompressed_size:)\d+",
                                     lambda m: next(g for g in m.groups() if g) + "N", s)
            assert shape(got) == shape(want), key
    assert "DEBUG LOG: hello" in engine_node.log_text()


def test_debug_sleep_blocks_and_latency_monitor(debug_nodes):
    real_node, engine_node = debug_nodes
    for node in (real_node, engine_node):
        with RawClient(node.port) as c, RawClient(node.port) as other:
            c.call("LATENCY", "RESET")
            assert c.call("CONFIG", "SET", "latency-monitor-threshold", "100") == b"+OK\r\n"
            c.send_raw(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.3\r\n")
            time.sleep(0.05)
            t0 = time.time()
            assert other.call("PING") == b"+PONG\r\n"
            assert time.time() - t0 > 0.15, node.kind  # the whole server was blocked
            assert c.read_reply() == b"+OK\r\n"
            latest = parse(c.call("LATENCY", "LATEST"))
            assert [x[0] for x in latest] == [b"command"], node.kind
            event, when, last, worst = latest[0]
            assert 250 <= last <= 1000 and worst == last and abs(when - time.time()) < 5
            hist = parse(c.call("LATENCY", "HISTORY", "command"))
            assert len(hist) == 1 and hist[0][1] == last
            doctor = parse(c.call("LATENCY", "DOCTOR"))
            assert doctor.startswith(b"Dave, I have observed latency spikes"), node.kind
            assert parse(c.call("LATENCY", "RESET", "command", "nosuch")) == 1
            assert c.call("LATENCY", "LATEST") == b"*0\r\n"
            c.call("CONFIG", "SET", "latency-monitor-threshold", "0")


def test_latency_replies(both):
    both("LATENCY", "LATEST")
    both("LATENCY", "HISTORY", "command")
    both("LATENCY", "RESET")
    both("LATENCY", "RESET", "a", "b")
    both("LATENCY", "GRAPH", "command")
    both("LATENCY", "DOCTOR")
    both("LATENCY", "NOSUCH")
    both("LATENCY", "HISTOGRAM", "nosuch")


def test_latency_histogram_shape(real, engine):
    for c in (real, engine):
        c.call("CONFIG", "RESETSTAT")
        c.call("SET", "h", "1")
    time.sleep(0.25)  # the engine samples its counters on the server cron
    for c in (real, engine):
        h = parse(c.call("LATENCY", "HISTOGRAM", "set"))
        assert h[0] == b"set" and h[1][0] == b"calls" and h[1][1] == 1
        assert h[1][2] == b"histogram_usec" and len(h[1][3]) == 2


# --------------------------------------------------------------------------- SHUTDOWN


def test_shutdown(both, node_factory):
    both("SHUTDOWN", "FOO")
    both("SHUTDOWN", "ABORT")
    both("SHUTDOWN", "SAVE", "NOSAVE")
    both("SHUTDOWN", "ABORT", "NOW")
    for kind in ("real", "engine"):
        node = node_factory(kind)
        with RawClient(node.port) as c:
            c.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
            with pytest.raises((ConnectionError, OSError)):
                c.read_reply()
        assert node.wait_exit(10) == 0
        log = node.log_text()
        assert "User requested shutdown..." in log and "Redis is now ready to exit" in log


def test_command_metadata_file_is_current():
    """redislab/engine/data/commands.json is what tools/gen_command_metadata.py gets from the
    installed redis-server today."""
    import subprocess
    import sys
    from pathlib import Path

    require_binary("redis-server")
    tool = Path(__file__).resolve().parents[2] / "tools" / "gen_command_metadata.py"
    res = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
