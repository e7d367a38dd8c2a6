"""The cluster bus between engine nodes: links and the wire format.

Redis nodes talk over a binary protocol on the bus port (client port + 10000 unless
``cluster-port`` says otherwise). Engine nodes only ever talk to engine nodes there, so the
bus uses its own framing, simpler to read in a packet capture: every message is

    b"RLcb" | 4-byte big-endian length | JSON object

The object carries what Redis' ``clusterMsg`` header carries (sender, epochs, the sender's
slots as a base64 bitmap in Redis' bit order, its role, flags, replication offset, ...) plus
the type-specific part (gossip entries, the failing node, an UPDATE, a PUBLISH). What
clients and learners see (CLUSTER NODES, INFO, logs, redirections) does not depend on it.

A :class:`Link` is one TCP connection, outbound (we connected to ``node``: PING, MEET,
FAIL, UPDATE, votes go this way) or inbound (a peer connected to us; we answer its PINGs
with PONGs on it), as Redis' ``clusterLink``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster, ClusterNode

MAGIC = b"RLcb"
_HDR = struct.Struct(">4sI")
MAX_MESSAGE = 64 * 1024 * 1024

# message types, numbered as Redis' CLUSTERMSG_TYPE_* (the CLUSTER INFO counters use them)
PING, PONG, MEET, FAIL, PUBLISH, AUTH_REQUEST, AUTH_ACK, UPDATE, MFSTART, MODULE, \
    PUBLISHSHARD = range(11)
TYPE_NAMES = ("ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update",
              "mfstart", "module", "publishshard")
TYPE_COUNT = len(TYPE_NAMES)

# mflags
FLAG0_PAUSED = 1  # the master is paused for a manual failover
FLAG0_FORCEACK = 2  # give an ACK to AUTH_REQUEST even if the master is up


def mstime() -> int:
    return int(time.time() * 1000)


def encode(msg: dict[str, Any]) -> bytes:
    body = json.dumps(msg, separators=(",", ":")).encode()
    return _HDR.pack(MAGIC, len(body)) + body


class Link(asyncio.Protocol):
    """One bus connection (Redis' ``clusterLink``)."""

    def __init__(self, cluster: "Cluster", node: "ClusterNode | None", inbound: bool):
        self.cluster = cluster
        self.node = node
        self.inbound = inbound
        self.ctime = mstime()
        self.transport: asyncio.Transport | None = None
        self.rbuf = bytearray()
        self.pending: list[bytes] = []  # written before the connect completed
        self.pending_len = 0
        self.closed = False
        self.connect_task: asyncio.Task[Any] | None = None
        self.outbuf: list[bytes] = []  # written on the next loop iteration
        self.outbuf_len = 0
        self.flush_scheduled = False
        self.peer = ("?", 0)
        self.local = ("", 0)
        if not inbound and node is not None:
            node.link = self

    # ------------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.closed:
            transport.close()
            return
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.peer = (peer[0], peer[1])
        if isinstance(local, tuple):
            self.local = (local[0], local[1])
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self.inbound:
            self.cluster.link_accepted(self)
        else:
            if self.pending:
                data = b"".join(self.pending)
                self.pending = []
                self.pending_len = 0
                transport.write(data)  # type: ignore[attr-defined]
            self.cluster.link_connected(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        buf = self.rbuf
        buf += data
        while len(buf) >= 8:
            magic, n = _HDR.unpack_from(buf)
            if magic != MAGIC or n > MAX_MESSAGE:
                self.cluster.log.warning(
                    "Bad message length or signature received from Cluster bus.")
                self.cluster.free_link(self)
                return
            if len(buf) < 8 + n:
                break
            body = bytes(buf[8:8 + n])
            del buf[:8 + n]
            try:
                msg = json.loads(body)
            except ValueError:
                self.cluster.log.warning("Bad message received from Cluster bus.")
                self.cluster.free_link(self)
                return
            if not isinstance(msg, dict):
                continue
            try:
                keep = self.cluster.process_packet(self, msg)
            except Exception as exc:  # pragma: no cover - keep the node alive
                self.cluster.log.warning(f"Error processing a cluster bus message: {exc!r}")
                keep = True
            if not keep or self.closed:
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.closed:
            self.cluster.free_link(self)

    # ------------------------------------------------------------------ output

    def send(self, data: bytes) -> None:
        """Queue a message; like Redis' write handler, the bytes leave on the next event
        loop iteration (after the replies to the clients served in this one)."""
        if self.closed:
            return
        if self.transport is None:
            self.pending.append(data)
            self.pending_len += len(data)
            return
        self.outbuf.append(data)
        self.outbuf_len += len(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_event_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self.flush_scheduled = False
        if self.closed or self.transport is None or not self.outbuf:
            return
        data = self.outbuf[0] if len(self.outbuf) == 1 else b"".join(self.outbuf)
        self.outbuf = []
        self.outbuf_len = 0
        self.transport.write(data)

    def send_buffer_used(self) -> int:
        if self.transport is not None:
            return self.transport.get_write_buffer_size() + self.outbuf_len
        return self.pending_len

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        task = self.connect_task
        self.connect_task = None
        if task is not None and not task.done():
            task.cancel()
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self.pending = []
        self.pending_len = 0
        self.outbuf = []
        self.outbuf_len = 0
