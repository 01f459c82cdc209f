"""Debian's headless Chromium for the tests that drive a page (the demo page, /docs, a preview)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (./dev test installs it)"
)
_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
"""Nothing of its own on the network (updates, sync), no sandbox (root in a container), no GPU."""


def launch(sync_playwright: Any) -> Any:
    """A headless Chromium from a started `sync_playwright()`; close it when done."""
    return sync_playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
