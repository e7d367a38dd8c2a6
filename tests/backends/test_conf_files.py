"""Each node's config file is the node's own: CONFIG REWRITE and Sentinel rewrite it in
place, on every backend, and a restarted node comes back with what was written."""

from __future__ import annotations

from pathlib import Path

from labtools import wait_for

from redislab import topology as T


def test_config_rewrite_survives_a_restart(make_lab) -> None:
    lab = make_lab(T.standalone(1))
    assert lab.exec("node1", "CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == b"OK"
    # docker used to bind-mount the single file: rename() over it failed with
    # "Device or resource busy"
    assert lab.exec("node1", "CONFIG", "REWRITE") == b"OK"
    text = Path(lab.conf_path("node1")).read_text()
    assert "maxmemory-policy allkeys-lru" in text
    lab.restart("node1")
    assert lab.exec("node1", "CONFIG", "GET", "maxmemory-policy") == [
        b"maxmemory-policy", b"allkeys-lru"]


def test_replicaof_written_by_rewrite_is_kept(make_lab) -> None:
    """A replica made by command and saved with CONFIG REWRITE stays one after a restart
    (one made by command and not saved comes back as a master)."""
    lab = make_lab(T.standalone(2))
    host, port = lab.internal_address("node1")
    assert lab.exec("node2", "REPLICAOF", host, port) == b"OK"
    wait_for(lambda: lab.info("node2").get("master_link_status") == "up",
             what="node2 linked to node1")
    assert lab.exec("node2", "CONFIG", "REWRITE") == b"OK"
    assert f"replicaof {host} {port}" in Path(lab.conf_path("node2")).read_text()
    lab.restart("node2")
    wait_for(lambda: lab.info("node2").get("role") == "slave", what="node2 a replica again")
