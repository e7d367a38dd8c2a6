"""Backends bring a topology alive: ``engine`` (built-in nodes), ``process`` (real
redis-server binaries) or ``docker`` (containers). See :mod:`redislab.backends.base`.

Typical use::

    from redislab import topology
    from redislab.backends import get_backend

    with get_backend("process") as lab:          # torn down at the end of the block
        lab.up(topology.replication())
        lab.exec("master", "SET", "k", "v")
        print(lab.exec("replica1", "GET", "k"))
"""

from __future__ import annotations

from typing import Any

from . import state
from .base import ACTIONS, Backend, BaseBackend, parse_info
from .errors import (BackendError, BackendUnsupported, DockerUnavailable, ImageMissing,
                     LabNotFound, NodeStartError, PortInUse)
from .state import LabRecord

NAMES = ("engine", "process", "docker")

__all__ = [
    "ACTIONS", "Backend", "BaseBackend", "BackendError", "BackendUnsupported",
    "DockerUnavailable", "ImageMissing", "LabNotFound", "NodeStartError", "PortInUse",
    "LabRecord", "NAMES", "get_backend", "attach", "labs", "find_lab", "reap", "parse_info",
]


def backend_class(name: str) -> type[BaseBackend]:
    if name == "engine":
        from .engine import EngineBackend

        return EngineBackend
    if name == "process":
        from .process import ProcessBackend

        return ProcessBackend
    if name == "docker":
        from .docker import DockerBackend

        return DockerBackend
    raise BackendError(f"unknown backend {name!r} (one of {', '.join(NAMES)})")


def get_backend(name: str, lab_id: str | None = None, **options: Any) -> BaseBackend:
    """A fresh backend, ready for ``up(topology)``."""
    return backend_class(name)(lab_id, **options)


def attach(record: LabRecord) -> BaseBackend:
    """The backend of an existing lab (started by another process)."""
    return backend_class(record.backend).from_record(record)


def is_stale(record: LabRecord) -> bool:
    """Owner gone, or (for a lab nobody owns) none of its nodes running any more."""
    if not record.owner_alive():
        return True
    if record.owner is not None:
        return False  # its owner is alive and looks after it
    if record.state != "running":
        return True
    if record.backend in ("engine", "process"):
        lab = attach(record)
        return not any(lab.is_running(n) for n in record.nodes)
    return False  # docker: checked by container state below, when docker answers


def reap(*, docker: bool | None = None) -> list[str]:
    """Remove stale labs (and, when docker is reachable, unrecorded labelled containers and
    networks of this state directory). Returns the ids reaped. Called by every lab command."""
    reaped: list[str] = []
    docker_records: list[LabRecord] = []
    known: set[str] = set()
    for rec in list(state.records()):
        try:
            stale = is_stale(rec)
        except BackendError:
            stale = False
        if rec.backend == "docker" and not stale:
            docker_records.append(rec)
        if stale:
            try:
                attach(rec).down()
            except BackendError:
                if rec.backend == "docker":
                    known.add(rec.id)  # docker unreachable: keep its record for later
                    continue
            rec.delete()
            reaped.append(rec.id)
        else:
            known.add(rec.id)
    use_docker = docker if docker is not None else _docker_worth_checking()
    if use_docker:
        from .docker import connect, reap_orphans

        try:
            client = connect(timeout=10)
            for rec in docker_records:
                if rec.owner is None and rec.state == "running" and \
                        not _any_container(client, rec):
                    attach(rec).down()
                    known.discard(rec.id)
                    reaped.append(rec.id)
            reaped += reap_orphans(client, known)
        except Exception:  # best effort: a daemon going away mid-way must not break a command
            pass
    return reaped


def _docker_worth_checking() -> bool:
    """Only when a daemon may be there (a socket or DOCKER_HOST): never slow a command."""
    from .docker import docker_reachable

    return docker_reachable()


def _any_container(client: Any, rec: LabRecord) -> bool:
    from .docker import LABEL_HOME, LABEL_LAB

    filters = {"label": [f"{LABEL_LAB}={rec.id}", f"{LABEL_HOME}={state.home_tag()}"],
               "status": "running"}
    return bool(client.api.containers(filters=filters)) or bool(
        client.api.containers(filters={**filters, "status": "paused"}))


def labs() -> list[LabRecord]:
    """Recorded labs, oldest first."""
    return list(state.records())


def find_lab(lab_id: str | None = None) -> BaseBackend:
    """The lab named ``lab_id``, or the most recent one."""
    recs = labs()
    if lab_id is not None:
        for rec in recs:
            if rec.id == lab_id:
                return attach(rec)
        known = ", ".join(r.id for r in recs) or "none"
        raise LabNotFound(f"no lab named {lab_id!r} (running labs: {known})")
    if not recs:
        raise LabNotFound("no lab is running: start one with `redislab up replication`")
    return attach(recs[-1])
