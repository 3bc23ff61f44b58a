"""Tests serve apps over real HTTP on loopback (see sandbox/serving.py)."""

from sandbox.serving import free_port, serve

__all__ = ["free_port", "serve"]
