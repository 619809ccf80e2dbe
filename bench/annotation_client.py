"""A scripted annotator for the annotators' server: opens a personal link's session over
textual-serve's websocket protocol, as its browser page does, and labels by keystrokes.

The protocol (textual_serve/server.py and static/js/textual.js): the page's script opens
``<link>/ws?width=W&height=H``; text frames from the client are JSON ``["stdin", keys]``,
``["resize", {"width", "height"}]``, ``["ping", data]`` (answered ``["pong", data]``), ``["focus"]``,
``["blur"]``; binary frames from the server are the terminal's output (the app's screen updates).

Used by tests/test_annotator_server.py and bench/annotation_server.py; ``expected_mapping_labels``
says which (item, label) rows a run of keystrokes on the mapping screen must leave in the project.
"""
from __future__ import annotations

import asyncio
import re
from collections import Counter

import aiohttp

ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[@-Z\\-_])")
READY = "documents done by you"  # the mapping screen's status line once its sample is loaded
KEYS = {"yes": "y", "no": "n"}


class AnnotatorClient:
    """One browser tab: ``await connect()``, ``await press(key)``, ``await close()``."""

    def __init__(self, link: str, width: int = 160, height: int = 48):
        self.link, self.width, self.height = link.rstrip("/"), width, height
        self.screen = ""  # every output so far, escape sequences removed
        self.frames = 0
        self._frame = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None

    async def connect(self) -> None:
        """Open the session (raises ``aiohttp.WSServerHandshakeError`` with status 403 when refused)."""
        self._session = aiohttp.ClientSession()
        ws_url = self.link.replace("http", "ws", 1) + f"/ws?width={self.width}&height={self.height}"
        try:
            self._ws = await self._session.ws_connect(ws_url)
        except BaseException:
            await self._session.close()
            raise
        await self._ws.send_json(["resize", {"width": self.width, "height": self.height}])
        await self._ws.send_json(["focus"])
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.screen = (self.screen + ANSI.sub("", message.data.decode("utf-8", "replace")))[-200_000:]
                self.frames += 1
                self._frame.set()
        self._frame.set()

    @property
    def closed(self) -> bool:
        return self._ws is None or self._ws.closed

    async def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Wait until ``text`` has appeared on the screen (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            while text not in self.screen:
                if self.closed:
                    raise ConnectionError(f"the session closed before {text!r} showed")
                self._frame.clear()
                await self._frame.wait()

    async def press(self, keys: str, timeout: float = 10.0) -> bool:
        """Type ``keys``; True once the next screen output arrives, False if none within ``timeout``."""
        self._frame.clear()
        await self._ws.send_json(["stdin", keys])
        try:
            async with asyncio.timeout(timeout):
                await self._frame.wait()
        except TimeoutError:
            return False
        return not self.closed

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader
        if self._session is not None:
            await self._session.close()


def mapping_answers(n: int, seed: int) -> list[str]:
    """An annotator's ``n`` answers, a pattern of its own (so rows stored under the wrong name show)."""
    return ["yes" if (i * (seed + 3) + seed) % 5 < 3 else "no" for i in range(n)]


def expected_mapping_labels(pairs: list[str], answers: list[str]) -> Counter:
    """The (item, label) rows that answering ``answers`` on the mapping screen stores: one per key,
    on the sample's (document, code) pairs in order; past the last pair the cursor stays on it."""
    return Counter((pairs[min(i, len(pairs) - 1)], a) for i, a in enumerate(answers))


def compare_labels(expected: dict[str, Counter], stored: dict[str, Counter]) -> dict[str, int]:
    """Labels stored vs expected per annotator: lost (expected, not stored), extra (stored, not
    expected: duplicates) and misattributed (an extra under one name that is another's lost one)."""
    lost = {name: expected[name] - stored.get(name, Counter()) for name in expected}
    extra = {name: stored[name] - expected.get(name, Counter()) for name in stored}
    misattributed = sum(min(count, sum(lost[other][row] for other in lost if other != name))
                        for name, rows in extra.items() for row, count in rows.items())
    return {"expected": sum(sum(c.values()) for c in expected.values()),
            "stored": sum(sum(c.values()) for c in stored.values()),
            "lost": sum(sum(c.values()) for c in lost.values()),
            "duplicates": sum(sum(c.values()) for c in extra.values()) - misattributed,
            "misattributed": misattributed}
