"""The fleet's pages in a real headless Chromium (test/browser/browse.mjs: @sparticuz/chromium
and puppeteer-core from npm, installed on first use like the other Node.js programs)."""

from __future__ import annotations

import json
import os
import subprocess

from helpers import REPO
from helpers.npm import npm_ready

BROWSER_DIR = os.path.join(REPO, "test", "browser")


def browse(url: str, token: str | None = None, select: tuple[str, ...] = (),
           click: str | None = None, downloads: str | None = None,
           screenshot: str | None = None) -> dict:
    """What Chromium got and rendered: {status, ms, texts: {selector: [text...]},
    download: path}."""
    npm_ready(BROWSER_DIR, "puppeteer-core")
    command = ["node", os.path.join(BROWSER_DIR, "browse.mjs"), url]
    if token:
        command += ["--token", token]
    for selector in select:
        command += ["--select", selector]
    if click:
        command += ["--click", click, "--downloads", str(downloads)]
    if screenshot:
        command += ["--screenshot", screenshot]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])
