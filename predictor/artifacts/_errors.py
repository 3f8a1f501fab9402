"""Artifact failures, split into those worth retrying and those that are final."""

from __future__ import annotations


class ArtifactsError(RuntimeError):
    """The artifacts cannot be made available; the message says what to check."""


class RetryableFetchError(Exception):
    """A transient fault (throttling, 5xx, reset, timeout, truncated body)."""
