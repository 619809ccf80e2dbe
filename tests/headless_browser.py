"""Headless Chromium driven over the DevTools protocol, with the network blocked: every request a
page makes (documents, scripts, stylesheets, fonts, images, websockets) is recorded, whether it
succeeds or not, and nothing but loopback can be reached.

Blocked how: every host name but 127.0.0.1 resolves to nothing (``--host-resolver-rules``) and
every other address goes to a proxy on a closed loopback port (loopback itself bypasses proxies).
Chromium's own background traffic is switched off, and only the page's target is recorded.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import aiohttp

BLOCKED = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9"]
QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-default-apps",
         "--disable-extensions", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-gpu", "--mute-audio"]


def chromium() -> str | None:
    """The Chromium (or Chrome) executable on this machine, if any."""
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))),
                None)


class HeadlessChromium:
    """``async with HeadlessChromium() as browser: requests = await browser.visit(url, ready_js)``."""

    def __init__(self, executable: str, width: int = 1400, height: int = 900):
        self.executable, self.size = executable, f"--window-size={width},{height}"
        self._ids = 0
        self._pending: dict[int, asyncio.Future] = {}
        self._events: list[dict] = []

    async def __aenter__(self) -> HeadlessChromium:
        # Chromium's helper processes can still write to the profile after the browser exits:
        # a leftover file there is no test failure (it failed once with "Directory not empty")
        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self._process = await asyncio.create_subprocess_exec(
            self.executable, "--headless", "--no-sandbox", "--remote-debugging-port=0",
            f"--user-data-dir={self._profile.name}", self.size, *BLOCKED, *QUIET, "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
        active = Path(self._profile.name) / "DevToolsActivePort"  # "PORT\n/devtools/browser/ID"
        async with asyncio.timeout(60):
            while not active.exists() or len(active.read_text().splitlines()) < 2:
                await asyncio.sleep(0.1)
        port, path = active.read_text().splitlines()[:2]
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        await self._ws.close()
        self._reader.cancel()
        await self._http.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)  # the browser and its helper processes
        await self._process.wait()
        self._profile.cleanup()

    async def _read(self) -> None:
        async for message in self._ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif "method" in data:
                self._events.append(data)

    async def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._ids += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        await self._ws.send_json({"id": self._ids, "method": method, "params": params or {},
                                  **({"sessionId": session} if session else {})})
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def visit(self, url: str, ready_js: str = "true", timeout: float = 90) -> list[dict]:
        """Open ``url`` in a new tab, wait for its load and for ``ready_js`` to be true (then one
        second more), and return every request it made: {url, type, status, error}."""
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        start = len(self._events)
        await self.send("Network.enable", {}, session)
        await self.send("Page.enable", {}, session)
        await self.send("Page.navigate", {"url": url}, session)
        async with asyncio.timeout(timeout):
            while not any(e["method"] == "Page.loadEventFired" and e.get("sessionId") == session
                          for e in self._events[start:]):
                await asyncio.sleep(0.1)
            while not (await self.send("Runtime.evaluate", {"expression": ready_js, "returnByValue": True,
                                                            "awaitPromise": True}, session))["result"].get("value"):
                await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        await self.send("Target.closeTarget", {"targetId": target})
        requests: dict[str, dict] = {}
        for event in self._events[start:]:
            if event.get("sessionId") != session:
                continue
            p = event["params"]
            if event["method"] == "Network.requestWillBeSent":
                requests[p["requestId"]] = {"url": p["request"]["url"], "type": p.get("type"), "status": None,
                                            "error": None}
            elif event["method"] == "Network.webSocketCreated":
                requests[p["requestId"]] = {"url": p["url"], "type": "WebSocket", "status": None, "error": None}
            elif event["method"] == "Network.responseReceived" and p["requestId"] in requests:
                requests[p["requestId"]]["status"] = p["response"]["status"]
            elif event["method"] == "Network.loadingFailed" and p["requestId"] in requests:
                requests[p["requestId"]]["error"] = p["errorText"]
        return list(requests.values())
