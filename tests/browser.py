"""Headless Chromium for tests: open a local page the way HR would, and watch what it does.

Chromium is driven over the DevTools protocol (CDP) with a small websocket client, so a test can
assert on what really happened: every console error (`Runtime.consoleAPICalled`), uncaught
exception (`Runtime.exceptionThrown`), browser log error (`Log.entryAdded`) and network request
(`Network.requestWillBeSent`) of the page, plus screenshots and values read from the DOM.

Chromium comes from Debian's `chromium` package (`make test` installs it where missing). Without
it a browser test skips, except under CI=true, where it fails: a skipped report test in CI would
hide a broken report.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The flags of the project's test set-up: no sandbox (CI runs as root), no GPU, and nothing
# that talks to the network on its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_STARTUP_TIMEOUT_S = 30.0


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The chromium executable; skips the test without it (fails under CI=true)."""
    found = find_chromium()
    if found is None:
        message = ("chromium is not installed (Debian: apt-get install chromium; "
                   "`make test` does it)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: browser tests must not be skipped)")
        pytest.skip(message)
    return found


@dataclass
class PageVisit:
    """What happened while a page loaded."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def foreign_requests(self) -> list[str]:
        """Requests for anything but the page itself and inline data."""
        return [u for u in self.requests if u != self.url and not u.startswith("data:")]


class _DevTools:
    """One CDP connection to the browser, with one attached page session."""

    def __init__(self, websocket_url: str) -> None:
        from websockets.sync.client import connect

        self._socket = connect(websocket_url, max_size=None, open_timeout=_STARTUP_TIMEOUT_S)
        self._next_id = 0
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             timeout: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self._socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event["method"] == method:
                return event
        while time.monotonic() < deadline:
            reply = json.loads(self._socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if "method" in reply:
                self.events.append(reply)
                if reply["method"] == method:
                    return reply
        raise TimeoutError(f"no {method} within {timeout} s")

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within `seconds` (late console messages)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = json.loads(self._socket.recv(timeout=left))
            except TimeoutError:
                return
            if "method" in reply:
                self.events.append(reply)

    def close(self) -> None:
        self._socket.close()


def _devtools_url(user_data: Path, process: subprocess.Popen[bytes]) -> str:
    # With --remote-debugging-port=0 Chromium picks a free port and writes it, with the
    # browser's websocket path, to DevToolsActivePort in its profile.
    marker = user_data / "DevToolsActivePort"
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode} at start-up")
        if marker.is_file():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


def visit(page: Path, *, screenshots: dict[str, Path] | None = None,
          evaluate: dict[str, str] | None = None, width: int = 1280, height: int = 900,
          settle_s: float = 0.5, timeout: float = 60.0, offline: bool = True,
          media: str | None = None, pdf: Path | None = None) -> PageVisit:
    """Open `page` in headless Chromium, wait for its load event, read `evaluate` expressions
    (name -> JavaScript expression returning JSON) and take screenshots: name -> path, where the
    name `viewport` is the first screen, `full` the whole page and any other name a CSS selector
    whose element is shot (heights capped at 12,000 px). With `offline` (the default) the
    page's network is switched off. `media` emulates a CSS media type (`print`) before anything
    is read; `pdf` prints the page to that file as Chromium prints it (the page's own CSS page
    size and margins, backgrounds included), after `evaluate`."""
    chromium = require_chromium()
    url = page.resolve().as_uri()
    user_data = Path(tempfile.mkdtemp(prefix="kinerja-chromium-"))
    process = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={user_data}",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    devtools: _DevTools | None = None
    try:
        devtools = _DevTools(_devtools_url(user_data, process))
        target = devtools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        devtools.session = devtools.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Network", "Log", "Page"):
            devtools.call(f"{domain}.enable")
        if offline:
            # The network is off, as on a government machine without internet: anything the
            # page tried to fetch would fail (and still be listed in `requests`).
            devtools.call("Network.emulateNetworkConditions", {
                "offline": True, "latency": 0, "downloadThroughput": -1,
                "uploadThroughput": -1})
        devtools.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        if media:
            devtools.call("Emulation.setEmulatedMedia", {"media": media})
        devtools.call("Page.navigate", {"url": url})
        devtools.wait_for("Page.loadEventFired", timeout)
        devtools.drain(settle_s)

        result = PageVisit(url=url)
        for name, expression in (evaluate or {}).items():
            reply = devtools.call("Runtime.evaluate",
                                  {"expression": expression, "returnByValue": True})
            if "exceptionDetails" in reply:
                raise RuntimeError(f"evaluating {name}: {reply['exceptionDetails']}")
            result.values[name] = reply["result"].get("value")
        if pdf is not None:
            printed = devtools.call("Page.printToPDF", {
                "preferCSSPageSize": True, "printBackground": True}, timeout=timeout)
            pdf.parent.mkdir(parents=True, exist_ok=True)
            pdf.write_bytes(base64.b64decode(printed["data"]))
        for name, path in (screenshots or {}).items():
            params: dict[str, Any] = {"format": "png"}
            if name == "full":
                size = devtools.call("Page.getLayoutMetrics")["cssContentSize"]
                params.update(captureBeyondViewport=True, clip={
                    "x": 0, "y": 0, "width": width, "height": min(size["height"], 12_000),
                    "scale": 1})
            elif name != "viewport":  # a CSS selector: that element's box
                box = devtools.call("Runtime.evaluate", {"returnByValue": True, "expression": (
                    f"(() => {{ const r = document.querySelector({json.dumps(name)})"
                    ".getBoundingClientRect(); return {x: r.left + scrollX, y: r.top + scrollY,"
                    " width: r.width, height: Math.min(r.height, 12000)}; })()")})
                params.update(captureBeyondViewport=True,
                              clip={**box["result"]["value"], "scale": 1})
            shot = devtools.call("Page.captureScreenshot", params)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base64.b64decode(shot["data"]))
        devtools.drain(0.1)

        for event in devtools.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.console_errors.append(" ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                result.exceptions.append(
                    details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                result.log_errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
        return result
    finally:
        if devtools is not None:
            # The browser may already be gone; it is killed below if not.
            with contextlib.suppress(Exception):
                devtools.call("Browser.close", timeout=5)
            devtools.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(user_data, ignore_errors=True)
