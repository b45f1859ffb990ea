"""Debian's Chromium, driven by Playwright (its Python package talks to the browser; Playwright's own
browser download cannot work on these machines, so it is pointed at the system's binary).

No browser is a failure, not a skip: the dashboard's end-to-end test must run wherever the suite
does (`.ci/run` installs the package when it is missing)."""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
# Headless, as root (no sandbox), and quiet: without the background-networking flags Chromium tries
# Google's hosts at every start, which a closed network refuses many times over.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOW_TO_INSTALL = ("no Chromium found for the dashboard's browser test. Install Debian's package: "
                  "`apt-get install -y chromium` (.ci/run does it), or set DIALER_CHROMIUM to a Chromium or "
                  "Chrome binary. (`playwright install` downloads a browser build, which cannot work here.)")


def chromium_path():
    """DIALER_CHROMIUM, else the first Chromium on PATH; fails the test, saying how to install one."""
    named = os.environ.get("DIALER_CHROMIUM")
    if named:
        if not Path(named).is_file():
            pytest.fail(f"DIALER_CHROMIUM={named} is not a file; " + HOW_TO_INSTALL, pytrace=False)
        return named
    found = next((path for path in map(shutil.which, CANDIDATES) if path), None)
    if found is None:
        pytest.fail(HOW_TO_INSTALL, pytrace=False)
    return found


@contextmanager
def chromium():
    """A headless Chromium (Playwright's Browser), closed on the way out."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: pip install -r requirements.txt", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()
