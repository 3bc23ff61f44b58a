"""Housekeeping jobs."""

from __future__ import annotations

from workers.context import job_context


def rotate_credentials() -> int:
    """Re-encrypt every stored credential under the current SECRET_KEY (after a key rotation)."""
    return job_context().store.rotate_credentials()


def ping(value: str) -> str:
    """Round trip through a worker; used by readiness checks of the queue and by tests."""
    return value
