"""A real headless Chromium for tests, driven over the DevTools protocol, with no internet.

`ensure_chromium()` installs Debian's `chromium` when it is missing (as root, with apt-get) and
fails the test otherwise: a browser test never skips. `Browser` starts it with a fresh profile;
every request of the page to a host other than 127.0.0.1 is failed (Fetch interception) and
recorded in `blocked`, so a test can assert that a page works offline and asks for nothing
outside.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from websockets.sync.client import ClientConnection, connect

from tests.debian import ensure_package

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # Belt and braces with the interception below: no name resolves except the loopback.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
]
LOCAL_HOSTS = {"127.0.0.1"}


def ensure_chromium() -> str:
    """The path of Debian's chromium, installed with apt-get when missing (as root)."""
    return ensure_package(CHROMIUM, "chromium")


class BrowserError(AssertionError):
    """The page or the protocol did not do what the test waited for."""


class Browser:
    """One headless Chromium with one page, closed (and its profile removed) on exit."""

    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="vardkedja-chromium-"))
        self.blocked: list[str] = []
        self.console: list[str] = []
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: ClientConnection | None = None
        self._stack = contextlib.ExitStack()
        self._loads = 0  # Page.loadEventFired events seen

    def __enter__(self) -> Browser:
        exe = ensure_chromium()
        self._proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._attach()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _attach(self) -> None:
        port = self._devtools_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.loads(answer.read())
        page = next(t for t in targets if t["type"] == "page")
        self._ws = self._stack.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        )
        self.call("Fetch.enable", patterns=[{"urlPattern": "*"}])
        self.call("Runtime.enable")
        self.call("Page.enable")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _devtools_port(self, seconds: float = 30) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self._proc.returncode}")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.1)
        raise BrowserError("chromium did not open its DevTools port")

    # The protocol: commands wait for their answer while events (paused requests) are handled.

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=30))
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Fetch.requestPaused":
            url, request_id = params["request"]["url"], params["requestId"]
            if urlsplit(url).hostname in LOCAL_HOSTS:
                self._send("Fetch.continueRequest", requestId=request_id)
            else:
                self.blocked.append(url)
                self._send("Fetch.failRequest", requestId=request_id, errorReason="BlockedByClient")
        elif method == "Page.loadEventFired":
            self._loads += 1
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            words = (str(a.get("value", a.get("description"))) for a in params["args"])
            self.console.append(" ".join(words))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console.append(str(details.get("exception", {}).get("description", details)))

    def _send(self, method: str, **params: Any) -> None:
        """A command whose answer is not awaited (it is skipped by `call` when it arrives)."""
        assert self._ws is not None
        self._ws.send(json.dumps({"id": next(self._ids), "method": method, "params": params}))

    def navigate(self, url: str, seconds: float = 30) -> None:
        """Load `url` and return once its load event has fired (the old page is gone)."""
        assert self._ws is not None
        before = self._loads
        answer = self.call("Page.navigate", url=url)
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        deadline = time.monotonic() + seconds
        while self._loads == before:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"{url} did not finish loading; blocked {self.blocked}")
            try:
                message = json.loads(self._ws.recv(timeout=left))
            except TimeoutError:
                continue
            self._event(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        answer = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 30) -> Any:
        """The first truthy value of `expression`, polled; BrowserError after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        body = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise BrowserError(
            f"timed out waiting for {expression}; page says {body!r}; console {self.console}; "
            f"blocked {self.blocked}"
        )

    def screenshot(self, path: Path) -> None:
        import base64

        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
