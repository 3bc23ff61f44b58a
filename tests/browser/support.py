"""What the headless-Chromium tests share: where Chromium is, how it starts, where screenshots go, and the
marks that skip them on a machine without Chromium (never in CI). The `browser` fixture itself (one
Chromium per module) is in tests/browser/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                       reason="Chromium is not installed (these tests always run in CI)"),
]
