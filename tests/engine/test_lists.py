"""List commands, compared byte for byte with a real redis-server 7.0 (``both``), plus the
blocking pops: several raw connections per node, a push from one waking the others in FIFO
order, timeouts, MULTI, and what gets propagated when a blocked client is served."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from nodes import RawClient, free_port


def resp3(both) -> None:
    """HELLO 3 on both connections (the reply carries the client id: not compared)."""
    assert both.real.call("HELLO", "3").startswith(b"%7")
    assert both.engine.call("HELLO", "3").startswith(b"%7")


# --------------------------------------------------------------------------- basics


def test_push_pop(both):
    both("LPUSH", "l", "a", "b", "c")
    both("RPUSH", "l", "d", "e")
    both("LRANGE", "l", "0", "-1")
    both("LPUSHX", "nol", "a")
    both("RPUSHX", "nol", "a")
    both("EXISTS", "nol")
    both("LPUSHX", "l", "x", "y")
    both("RPUSHX", "l", "z")
    both("LLEN", "l")
    both("LLEN", "nol")
    both("LPOP", "l")
    both("RPOP", "l")
    both("LPOP", "l", "2")
    both("RPOP", "l", "2")
    both("LPOP", "l", "0")
    both("LPOP", "l", "100")
    both("EXISTS", "l")
    both("LPOP", "l")
    both("LPOP", "l", "2")
    both("RPOP", "nol", "0")
    both("LPOP", "l", "-1")
    both("LPOP", "l", "x")
    both("LPOP", "l", "1", "2")
    both("RPOP", "l", "1", "2")
    both("LPUSH", "l")


def test_range_index_set(both):
    both("RPUSH", "l", *"abcdefgh")
    for start, end in [("0", "-1"), ("2", "4"), ("-3", "-1"), ("5", "2"), ("-100", "100"),
                       ("7", "7"), ("8", "9"), ("-1", "-2"), ("x", "1"), ("1", "y")]:
        both("LRANGE", "l", start, end)
    both("LRANGE", "nol", "0", "-1")
    both("LRANGE", "nol", "x", "1")
    for idx in ("0", "-1", "3", "100", "-100", "x"):
        both("LINDEX", "l", idx)
    both("LINDEX", "nol", "x")
    both("LSET", "l", "1", "B")
    both("LSET", "l", "-1", "H")
    both("LSET", "l", "100", "Q")
    both("LSET", "l", "x", "Q")
    both("LSET", "nol", "0", "Q")
    both("LSET", "nol", "x", "Q")
    both("LRANGE", "l", "0", "-1")


def test_insert_rem_trim(both):
    both("RPUSH", "l", "a", "b", "a", "c", "a", "d", "a")
    both("LINSERT", "l", "BEFORE", "c", "X")
    both("LINSERT", "l", "after", "c", "Y")
    both("LINSERT", "l", "before", "nope", "Z")
    both("LINSERT", "l", "middle", "c", "Z")
    both("LINSERT", "nol", "before", "c", "Z")
    both("LINSERT", "nol", "middle", "c", "Z")
    both("LREM", "l", "2", "a")
    both("LRANGE", "l", "0", "-1")
    both("LREM", "l", "-1", "a")
    both("LRANGE", "l", "0", "-1")
    both("LREM", "l", "0", "a")
    both("LREM", "l", "0", "nope")
    both("LREM", "l", "x", "a")
    both("LREM", "nol", "1", "a")
    both("LRANGE", "l", "0", "-1")
    both("LTRIM", "l", "1", "-2")
    both("LRANGE", "l", "0", "-1")
    both("LTRIM", "l", "0", "100")
    both("LTRIM", "nol", "0", "1")
    both("LTRIM", "l", "x", "1")
    both("LTRIM", "l", "5", "1")
    both("EXISTS", "l")
    both("RPUSH", "x", "only")
    both("LREM", "x", "0", "only")
    both("EXISTS", "x")


def test_lpos(both):
    both("RPUSH", "p", "a", "b", "c", "1", "2", "3", "c", "c", "d", "c")
    for extra in ([], ["RANK", "2"], ["RANK", "-1"], ["RANK", "-3"], ["COUNT", "0"],
                  ["COUNT", "2", "RANK", "-2"], ["MAXLEN", "3"], ["MAXLEN", "3", "COUNT", "0"],
                  ["RANK", "5"], ["COUNT", "1", "RANK", "10"], ["RANK", "-1", "MAXLEN", "2"]):
        both("LPOS", "p", "c", *extra)
    both("LPOS", "p", "zz")
    both("LPOS", "p", "zz", "COUNT", "1")
    both("LPOS", "nol", "a")
    both("LPOS", "nol", "a", "COUNT", "1")
    for bad in (["RANK", "0"], ["RANK", "x"], ["COUNT", "-1"], ["COUNT", "x"], ["MAXLEN", "-1"],
                ["MAXLEN", "x"], ["FOO", "1"], ["RANK"]):
        both("LPOS", "p", "c", *bad)


def test_lmove_rpoplpush_lmpop(both):
    both("RPUSH", "src", "a", "b", "c", "d")
    both("LMOVE", "src", "dst", "LEFT", "RIGHT")
    both("LMOVE", "src", "dst", "right", "left")
    both("LMOVE", "src", "dst", "up", "left")
    both("LMOVE", "src", "dst", "left", "down")
    both("LRANGE", "dst", "0", "-1")
    both("RPOPLPUSH", "src", "dst")
    both("RPOPLPUSH", "nol", "dst")
    both("LMOVE", "nol", "dst", "LEFT", "LEFT")
    both("LRANGE", "src", "0", "-1")
    both("RPOPLPUSH", "src", "dst")
    both("EXISTS", "src")
    both("RPUSH", "one", "x")
    both("LMOVE", "one", "one", "LEFT", "RIGHT")
    both("LRANGE", "one", "0", "-1")
    both("RPUSH", "m", "1", "2", "3", "4", "5")
    both("LMPOP", "2", "nol", "m", "LEFT", "COUNT", "2")
    both("LMPOP", "2", "nol", "m", "RIGHT")
    both("LMPOP", "1", "nol", "LEFT")
    both("LMPOP", "1", "m", "RIGHT", "COUNT", "10")
    both("EXISTS", "m")
    for bad in (["0", "m", "LEFT"], ["x", "m", "LEFT"], ["2", "m", "LEFT"], ["1", "m", "UP"],
                ["1", "m", "LEFT", "COUNT", "0"], ["1", "m", "LEFT", "COUNT", "x"],
                ["1", "m", "LEFT", "COUNT", "1", "COUNT", "2"], ["1", "m", "LEFT", "FOO"],
                ["1", "m", "LEFT", "COUNT"]):
        both("LMPOP", *bad)


def test_wrongtype_and_arity(both):
    both("SET", "s", "v")
    both("HSET", "h", "f", "v")
    for cmd in (["LPUSH", "s", "a"], ["RPUSH", "s", "a"], ["LPUSHX", "s", "a"],
                ["RPUSHX", "s", "a"], ["LPOP", "s"], ["RPOP", "s", "2"], ["LLEN", "s"],
                ["LRANGE", "s", "0", "1"], ["LINDEX", "s", "0"], ["LINDEX", "s", "x"],
                ["LSET", "s", "0", "a"], ["LINSERT", "s", "BEFORE", "a", "b"],
                ["LREM", "s", "0", "a"], ["LTRIM", "s", "0", "1"], ["LPOS", "s", "a"],
                ["LMOVE", "s", "d", "LEFT", "LEFT"], ["RPOPLPUSH", "s", "d"],
                ["LMPOP", "2", "nol", "s", "LEFT"], ["BLPOP", "nol", "s", "0"],
                ["BRPOP", "s", "0"], ["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
                ["BRPOPLPUSH", "s", "d", "0"], ["BLMPOP", "0", "1", "s", "LEFT"]):
        both(*cmd)
    both("RPUSH", "l", "a", "b")
    both("LMOVE", "l", "h", "LEFT", "LEFT")
    both("RPOPLPUSH", "l", "s")
    both("BLMOVE", "l", "h", "LEFT", "LEFT", "0")
    both("LRANGE", "l", "0", "-1")
    for cmd in (["LPUSH", "l"], ["LLEN"], ["LLEN", "a", "b"], ["LRANGE", "l", "0"],
                ["LINDEX", "l"], ["LSET", "l", "0"], ["LINSERT", "l", "BEFORE", "a"],
                ["LMOVE", "a", "b", "LEFT"], ["BLPOP", "l"], ["BLMPOP", "0", "1", "l"],
                ["LMPOP", "1", "l"], ["RPOPLPUSH", "a"], ["BRPOPLPUSH", "a", "b"]):
        both(*cmd)


def test_resp3(both):
    resp3(both)
    both("RPUSH", "l", "a", "b", "c")
    both("LPOP", "nol")
    both("LPOP", "nol", "2")
    both("LPOP", "l", "2")
    both("LINDEX", "l", "5")
    both("LPOS", "l", "zz")
    both("LMPOP", "1", "nol", "LEFT")
    both("LMPOP", "1", "l", "LEFT")
    both("RPOPLPUSH", "nol", "x")
    both("BLPOP", "nol", "0.01")
    both("BLMOVE", "nol", "x", "LEFT", "LEFT", "0.01")
    both("BLMPOP", "0.01", "1", "nol", "LEFT")


def test_timeouts_and_multi(both):
    for t in ("abc", "-1", "inf", "1e400", "-0.5x", ""):
        both("BLPOP", "k", t)
    both("BLMOVE", "k", "d", "LEFT", "LEFT", "x")
    both("BLMOVE", "k", "d", "UP", "LEFT", "x")
    both("BRPOPLPUSH", "k", "d", "-1")
    both("BLMPOP", "x", "1", "k", "LEFT")
    both("BLMPOP", "0", "0", "k", "LEFT")
    both("BLPOP", "k", "0.01")
    both("BRPOP", "k1", "k2", "0.02")
    both("BLMOVE", "k", "d", "LEFT", "LEFT", "0.01")
    both("BRPOPLPUSH", "k", "d", "0.01")
    both("BLMPOP", "0.01", "2", "k1", "k2", "RIGHT", "COUNT", "3")
    # non-empty: behaves like the non-blocking command
    both("RPUSH", "k", "a", "b", "c")
    both("BLPOP", "nol", "k", "0")
    both("BRPOP", "k", "0")
    both("BLMPOP", "0", "2", "nol", "k", "LEFT", "COUNT", "5")
    both("RPUSH", "k", "a", "b")
    both("BLMOVE", "k", "d", "LEFT", "RIGHT", "0")
    both("BRPOPLPUSH", "k", "d", "0")
    both("LRANGE", "d", "0", "-1")
    # inside MULTI a blocking pop does not block
    both("MULTI")
    both("BLPOP", "empty", "0")
    both("BRPOP", "empty", "0")
    both("BLMOVE", "empty", "d", "LEFT", "LEFT", "0")
    both("BRPOPLPUSH", "empty", "d", "0")
    both("BLMPOP", "0", "1", "empty", "LEFT")
    both("RPUSH", "empty", "x")
    both("BLPOP", "empty", "0")
    both("EXEC")


# --------------------------------------------------------------------------- blocking


def _send(c: RawClient, *args: str) -> None:
    parts = [a.encode() for a in args]
    c.send_raw(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))


def wait_blocked(ctl: RawClient, n: int, timeout: float = 5.0) -> None:
    """Poll CLIENT LIST until ``n`` connections are blocked."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = ctl.call("CLIENT", "LIST").decode()
        if sum(1 for line in text.split("\n") if " flags=b " in line) >= n:
            return
        time.sleep(0.005)
    raise AssertionError(f"{n} blocked clients expected")


def run_script(port: int, script: list) -> list:
    """Run ("name", args...) steps; "READ" reads a blocked client's reply, "BLOCKED n"
    waits for n blocked clients; args starting with "!" are sent without reading the
    reply (a blocking call), with "~" the reply is read but not recorded."""
    clients: dict[str, RawClient] = {}
    out = []
    ctl = RawClient(port)
    try:
        for step in script:
            name, *args = step
            if name == "BLOCKED":
                wait_blocked(ctl, args[0])
                continue
            c = clients.get(name)
            if c is None:
                c = clients[name] = RawClient(port)
            if args == ["READ"]:
                out.append((name, c.read_reply()))
            elif args and args[0] == "!":
                _send(c, *args[1:])
            elif args and args[0] == "~":  # call, reply not recorded (HELLO carries an id)
                c.call(*args[1:])
            else:
                out.append((name, c.call(*args)))
    finally:
        for c in clients.values():
            c.close()
        ctl.close()
    return out


def same_script(real_node, engine_node, script: list) -> list:
    want = run_script(real_node.port, script)
    got = run_script(engine_node.port, script)
    assert got == want
    return got


def test_blocking_fifo_and_shapes(real_node, engine_node, real, engine):
    script = [
        ("a", "!", "BLPOP", "k1", "k2", "0"),
        ("BLOCKED", 1),
        ("b", "!", "BRPOP", "k2", "0"),
        ("BLOCKED", 2),
        ("c", "!", "BLMOVE", "k2", "dst", "LEFT", "RIGHT", "0"),
        ("BLOCKED", 3),
        ("d", "!", "BLMPOP", "0", "1", "k2", "RIGHT", "COUNT", "5"),
        ("BLOCKED", 4),
        ("e", "!", "BLPOP", "dst", "0"),
        ("BLOCKED", 5),
        ("x", "RPUSH", "k2", "a", "b", "c", "d", "e", "f"),
        ("a", "READ"), ("b", "READ"), ("c", "READ"), ("d", "READ"), ("e", "READ"),
        ("x", "LRANGE", "k2", "0", "-1"),
        ("x", "LRANGE", "dst", "0", "-1"),
        ("x", "EXISTS", "k2"),
    ]
    got = same_script(real_node, engine_node, script)
    assert got[1] == ("a", b"*2\r\n$2\r\nk2\r\n$1\r\na\r\n")


def test_blocking_after_multi_and_wrongtype_target(real_node, engine_node, real, engine):
    script = [
        ("a", "!", "BLPOP", "m", "0"),
        ("BLOCKED", 1),
        ("x", "MULTI"),
        ("x", "RPUSH", "m", "1"),
        ("x", "LLEN", "m"),
        ("x", "RPUSH", "m", "2"),
        ("x", "EXEC"),
        ("a", "READ"),
        ("x", "LRANGE", "m", "0", "-1"),
        ("x", "DEL", "m"),
        # a BLMOVE whose destination became a string is served an error, not an element
        ("b", "!", "BLMOVE", "m", "str", "LEFT", "LEFT", "0"),
        ("BLOCKED", 1),
        ("a", "!", "BRPOPLPUSH", "m", "dst", "0"),
        ("BLOCKED", 2),
        ("x", "SET", "str", "v"),
        ("x", "RPUSH", "m", "p", "q"),
        ("b", "READ"),
        ("a", "READ"),
        ("x", "LRANGE", "m", "0", "-1"),
        ("x", "LRANGE", "dst", "0", "-1"),
        # a push that is popped again inside the same transaction wakes nobody
        ("x", "DEL", "m"),
        ("a", "!", "BLPOP", "m", "0.3"),
        ("BLOCKED", 1),
        ("x", "MULTI"),
        ("x", "RPUSH", "m", "z"),
        ("x", "LPOP", "m"),
        ("x", "EXEC"),
        ("a", "READ"),
    ]
    same_script(real_node, engine_node, script)


def test_blocking_resp3_and_timeout(real_node, engine_node, real, engine):
    script = [
        ("a", "!", "BLMPOP", "0.2", "2", "q1", "q2", "LEFT", "COUNT", "2"),
        ("a", "READ"),
        ("b", "!", "BLPOP", "q", "0.1"),
        ("b", "READ"),
        ("c", "!", "BLMOVE", "q", "w", "LEFT", "LEFT", "0.1"),
        ("c", "READ"),
        ("d", "~", "HELLO", "3"),
        ("d", "!", "BLMPOP", "0", "2", "q1", "q2", "LEFT", "COUNT", "2"),
        ("BLOCKED", 1),
        ("e", "~", "HELLO", "3"),
        ("e", "!", "BLPOP", "q1", "0"),
        ("BLOCKED", 2),
        ("x", "RPUSH", "q2", "a", "b", "c"),
        ("d", "READ"),
        ("x", "RPUSH", "q1", "z"),
        ("e", "READ"),
        ("x", "LRANGE", "q2", "0", "-1"),
    ]
    rows = same_script(real_node, engine_node, script)
    assert rows[0] == ("a", b"*-1\r\n")
    for node in (real_node, engine_node):
        with RawClient(node.port) as c:
            assert c.call("HELLO", "3").startswith(b"%7")
            assert c.call("BLPOP", "none", "0.05") == b"_\r\n"
            assert c.call("BLMPOP", "0.05", "1", "none", "LEFT") == b"_\r\n"


def test_blocked_client_gone(real_node, engine_node, real, engine):
    """A client that disconnects while blocked must not swallow the next element."""
    for node, ctl in ((real_node, real), (engine_node, engine)):
        a = RawClient(node.port)
        _send(a, "BLPOP", "gone", "0")
        wait_blocked(ctl, 1)
        a.close()
        time.sleep(0.05)
        assert ctl.call("RPUSH", "gone", "x") == b":1\r\n"
        assert ctl.call("LRANGE", "gone", "0", "-1") == b"*1\r\n$1\r\nx\r\n"


def test_blocking_pipelined_commands_resume(real_node, engine_node, real, engine):
    """Commands pipelined behind a blocking pop run once it is served."""
    for node in (real_node, engine_node):
        with RawClient(node.port) as a, RawClient(node.port) as x:
            a.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$2\r\npp\r\n$1\r\n0\r\n"
                       b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n")
            wait_blocked(x, 1)
            assert x.call("RPUSH", "pp", "v") == b":1\r\n"
            assert a.read_reply() == b"*2\r\n$2\r\npp\r\n$1\r\nv\r\n"
            assert a.read_reply() == b"$2\r\nhi\r\n"
            x.call("DEL", "pp")


# --------------------------------------------------------------------------- propagation


class InProcess:
    """An engine server on a thread of this process, with a hook recording what it
    propagates (put first, where replication and the AOF hook in)."""

    def __init__(self, tmp_path):
        from redislab.engine.config import Config
        from redislab.engine.server import Server

        self.port = free_port()
        cfg = Config()
        cfg.load_text(f'port {self.port}\ndir {tmp_path}\nsave ""\nappendonly no\n'
                      f"loglevel warning\nlogfile {tmp_path}/log.txt\n")
        self.server = Server(cfg)
        self.log: list[list[bytes]] = []
        self.server.propagate_hooks.insert(0, lambda db, argv: self.log.append(list(argv)))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                RawClient(self.port, timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve_forever())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.thread.join(10)


@pytest.fixture
def inproc(tmp_path):
    node = InProcess(tmp_path)
    yield node
    node.close()


def test_served_pops_are_propagated_after_the_push(inproc):
    script = [
        ("a", "!", "BLPOP", "k", "0"),
        ("BLOCKED", 1),
        ("b", "!", "BLMOVE", "k", "dst", "RIGHT", "LEFT", "0"),
        ("BLOCKED", 2),
        ("c", "!", "BRPOPLPUSH", "k", "dst2", "0"),
        ("BLOCKED", 3),
        ("d", "!", "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "10"),
        ("BLOCKED", 4),
        ("e", "!", "BLPOP", "dst", "0"),
        ("BLOCKED", 5),
        ("x", "RPUSH", "k", "1", "2", "3", "4", "5"),
        ("a", "READ"), ("b", "READ"), ("c", "READ"), ("d", "READ"), ("e", "READ"),
        # immediate forms are propagated as their non-blocking equivalents
        ("x", "RPUSH", "n", "a", "b", "c", "d", "e"),
        ("x", "BLPOP", "n", "0"),
        ("x", "BLMOVE", "n", "o", "left", "right", "0"),
        ("x", "BRPOPLPUSH", "n", "o", "0"),
        ("x", "BLMPOP", "0", "1", "n", "RIGHT", "COUNT", "9"),
        ("x", "LMPOP", "1", "o", "LEFT", "COUNT", "1"),
    ]
    rows = run_script(inproc.port, script)
    assert rows[1:6] == [
        ("a", b"*2\r\n$1\r\nk\r\n$1\r\n1\r\n"),
        ("b", b"$1\r\n5\r\n"),
        ("c", b"$1\r\n4\r\n"),
        ("d", b"*2\r\n$1\r\nk\r\n*2\r\n$1\r\n2\r\n$1\r\n3\r\n"),
        ("e", b"*2\r\n$3\r\ndst\r\n$1\r\n5\r\n"),
    ]
    assert inproc.log == [
        [b"RPUSH", b"k", b"1", b"2", b"3", b"4", b"5"],
        [b"LPOP", b"k"],
        [b"LMOVE", b"k", b"dst", b"RIGHT", b"LEFT"],
        [b"RPOPLPUSH", b"k", b"dst2"],
        [b"LPOP", b"k", b"2"],
        [b"LPOP", b"dst"],
        [b"RPUSH", b"n", b"a", b"b", b"c", b"d", b"e"],
        [b"LPOP", b"n"],
        [b"LMOVE", b"n", b"o", b"left", b"right"],
        [b"RPOPLPUSH", b"n", b"o"],
        [b"RPOP", b"n", b"2"],
        [b"LPOP", b"o", b"1"],
    ]


def test_served_pop_follows_push_for_hooks_added_later(inproc):
    """A hook registered after ours (a replica attaching while clients wait) must still
    see the push before the pop."""
    late: list[list[bytes]] = []
    a = RawClient(inproc.port)
    x = RawClient(inproc.port)
    try:
        _send(a, "BLPOP", "k", "0")
        wait_blocked(x, 1)
        inproc.server.propagate_hooks.append(lambda db, argv: late.append(list(argv)))
        assert x.call("RPUSH", "k", "v") == b":1\r\n"
        assert a.read_reply() == b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"
    finally:
        a.close()
        x.close()
    assert late == [[b"RPUSH", b"k", b"v"], [b"LPOP", b"k"]]
    assert inproc.log == late


def test_transaction_push_serves_after_exec(inproc):
    script = [
        ("a", "!", "BLPOP", "k", "0"),
        ("BLOCKED", 1),
        ("x", "MULTI"),
        ("x", "RPUSH", "k", "1"),
        ("x", "RPUSH", "k", "2"),
        ("x", "EXEC"),
        ("a", "READ"),
    ]
    run_script(inproc.port, script)
    assert inproc.log == [
        [b"MULTI"], [b"RPUSH", b"k", b"1"], [b"RPUSH", b"k", b"2"], [b"EXEC"], [b"LPOP", b"k"],
    ]


def test_rename_wakes_blocked_client(real_node, engine_node, real, engine):
    script = [
        ("a", "!", "BLPOP", "target", "0"),
        ("BLOCKED", 1),
        ("x", "RPUSH", "tmp", "v1", "v2"),
        ("x", "RENAME", "tmp", "target"),
        ("a", "READ"),
        ("x", "LRANGE", "target", "0", "-1"),
    ]
    same_script(real_node, engine_node, script)


# --------------------------------------------------------------------------- size


def test_long_lists_stay_fast(real, engine):
    payload = [str(i) for i in range(1000)]
    for c in (real, engine):
        start = time.perf_counter()
        for _ in range(20):
            c.call("RPUSH", "big", *payload)
        assert c.call("LLEN", "big") == b":20000\r\n"
        for _ in range(200):
            c.call("LRANGE", "big", "0", "599")
            c.call("LRANGE", "big", "-600", "-1")
            c.call("LINDEX", "big", "10000")
        assert c.call("LTRIM", "big", "-10", "-1") == b"+OK\r\n"
        assert c.call("LRANGE", "big", "0", "-1").count(b"$") == 10
        assert time.perf_counter() - start < 10
