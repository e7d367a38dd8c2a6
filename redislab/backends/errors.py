"""Errors a backend raises. Each message says what happened and what to do about it."""

from __future__ import annotations


class BackendError(RuntimeError):
    """A lab could not do what was asked; the message is meant for the learner."""


class BackendUnsupported(BackendError):
    """This backend cannot do this action (e.g. partition on local processes)."""


class NodeStartError(BackendError):
    """A node did not come up; the message carries the end of its log."""


class PortInUse(BackendError):
    """A port a lab needs is taken on 127.0.0.1."""


class DockerUnavailable(BackendError):
    """Docker is not installed, its daemon is not running, or we may not talk to it."""


class ImageMissing(BackendError):
    """No Redis image is available locally."""


class LabNotFound(BackendError):
    """No running lab matches."""
