"""Core protocol behaviour, compared byte for byte with a real redis-server."""

from __future__ import annotations


def test_ping_echo(both):
    both("PING")
    both("PING", "hello")
    both("ECHO", "x y")
    both("PING", "a", "b")


def test_unknown_command_and_arity(both):
    both("FOO", "bar", "baz")
    both("FOO")
    both("ECHO")
    both("CLIENT", "NOPE")


def test_inline_and_pipelined(real, engine):
    for c in (real, engine):
        c.send_raw(b"PING\r\n\r\nECHO \"a b\"\r\n*1\r\n$4\r\nPING\r\n")
    for _ in range(3):
        assert engine.read_reply() == real.read_reply()


def test_protocol_error_closes(real_node, engine_node):
    from nodes import RawClient

    for bad in (b"*1\r\n$x\r\n", b"*abc\r\n", b"*1\r\nfoo\r\n", b'ECHO "abc\r\n'):
        replies = []
        for node in (real_node, engine_node):
            with RawClient(node.port) as c:
                c.send_raw(bad)
                replies.append(c.read_reply())
        assert replies[1] == replies[0], bad


def test_transaction(both):
    both("MULTI")
    both("PING")
    both("ECHO", "x")
    both("EXEC")
    both("EXEC")
    both("DISCARD")
    both("MULTI")
    both("MULTI")
    both("NOSUCH")
    both("EXEC")
