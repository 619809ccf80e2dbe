"""Annotators with personal links and the server they open (#15 items 1 and 3): a wrong, missing or
revoked token gets a 403 and spawns nothing, a revoked link's open session is closed, failures are
throttled per address, every visit is in the audit log, and sessions label under the token's name
only — also with several annotators labelling at once through real app processes."""
from __future__ import annotations

import asyncio
import hashlib
from collections import Counter

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from bench.annotation_client import (KEYS, READY, AnnotatorClient, compare_labels, expected_mapping_labels,
                                     mapping_answers)
from workbench.annotate.annotators import add_annotator, annotator_log, annotators, authenticate, revoke_annotator
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.tui import serve as serve_module
from workbench.tui.serve import AnnotatorServer, LoginThrottle, TimedAppService


def token_of(url: str) -> str:
    return url.rsplit("/a/", 1)[1]


@pytest.fixture
def spawned(monkeypatch):
    """Commands of the app processes the server would start (none is started)."""
    commands: list[str] = []

    async def start(self, width, height):
        commands.append(self.command)

    monkeypatch.setattr(TimedAppService, "start", start)
    monkeypatch.setattr(serve_module, "REVOCATION_POLL_S", 0.05)
    return commands


class Running:
    """An AnnotatorServer on a free loopback port, in this test's event loop."""

    def __init__(self, path, **kwargs):
        kwargs.setdefault("throttle", LoginThrottle(free=1000))  # tests of refusals are not throttled
        self.server = AnnotatorServer(path, **kwargs)

    async def __aenter__(self):
        self.http = TestServer(await self.server._make_app(), host="127.0.0.1")
        await self.http.start_server()
        self.base = str(self.http.make_url("")).rstrip("/")
        self.client = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc):
        await self.client.close()
        await self.http.close()

    async def page(self, path: str) -> int:
        async with self.client.get(self.base + path) as response:
            return response.status

    async def session(self, path: str) -> int:
        try:
            ws = await self.client.ws_connect(self.base.replace("http", "ws") + path)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101


def test_a_link_holds_a_random_token_of_which_only_the_hash_is_stored(project):
    url = add_annotator(project, " ana ", "https://label.example.org/")
    other = add_annotator(project, "bob", "https://label.example.org")
    token = token_of(url)
    assert url.startswith("https://label.example.org/a/") and len(token) >= 43  # ≥ 256 bits, base64
    assert token != token_of(other)
    (row,) = [r for r in project.annotator_rows() if r["name"] == "ana"]
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    project.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert token.encode() not in project.path.read_bytes()
    typo = token[:-1] + ("A" if token[-1] != "A" else "B")  # (a fixed "A" was the token itself 1 time in 64)
    assert authenticate(project, token).name == "ana" and authenticate(project, typo).name is None
    with pytest.raises(WorkbenchError, match="already has a link"):
        add_annotator(project, "ana", "http://x")
    with pytest.raises(WorkbenchError, match="reserved"):
        add_annotator(project, "recognizer", "http://x")
    revoke_annotator(project, "ana")
    assert authenticate(project, token).reason == "revoked link of ana"
    again = add_annotator(project, "ana", "http://x")  # a revoked annotator gets a new link; the old stays dead
    assert authenticate(project, token_of(again)).name == "ana" and authenticate(project, token).name is None
    assert [(a.name, a.active) for a in annotators(project)] == [("ana", True), ("bob", True)]
    assert [(e["event"], e["annotator"]) for e in annotator_log(project)] == [
        ("add", "ana"), ("add", "bob"), ("revoke", "ana"), ("add", "ana")]


async def test_wrong_missing_or_revoked_tokens_get_403_and_spawn_nothing(project, spawned):
    token = token_of(add_annotator(project, "ana", "http://x"))
    bob = token_of(add_annotator(project, "bob", "http://x"))
    async with Running(project.path, codebook_version=None) as running:
        for path in ("/", "/a/", "/a/not-a-token", f"/a/{token[:-2]}"):
            assert await running.page(path) in (403, 404), path
        for path in ("/ws", "/a/not-a-token/ws", f"/a/{token.upper()}/ws", f"/a/{bob}x/ws"):
            assert await running.session(path) in (403, 404), path
        assert spawned == []
        async with running.client.get(f"{running.base}/a/{token}") as response:
            page = await response.text()
            assert response.status == 200 and response.headers["Referrer-Policy"] == "no-referrer"
        assert f'data-session-websocket-url="ws://127.0.0.1:{running.http.port}/a/{token}/ws"' in page
        # the browser cannot choose the name: only the token's row does
        assert await running.session(f"/a/{token}/ws?annotator=bob&width=100") == 101
        assert len(spawned) == 1 and spawned[0].split("--annotator ")[1].split()[0] == "ana"

        open_ws = await running.client.ws_connect(f"{running.base.replace('http', 'ws')}/a/{token}/ws")
        await asyncio.sleep(0.05)
        revoke_annotator(project, "ana")
        assert await running.page(f"/a/{token}") == 403 and await running.session(f"/a/{token}/ws") == 403
        async with asyncio.timeout(5):  # the open session is closed by the server
            assert (await open_ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert await running.session(f"/a/{bob}/ws") == 101  # another annotator's link still works
    assert len(spawned) == 3 and "--annotator bob" in spawned[-1]
    log = annotator_log(project)
    reasons = [e["detail"] for e in log if e["event"] == "refused"]
    assert "no token (page)" in reasons and "unknown token (session)" in reasons
    assert "revoked link of ana (page)" in reasons and "revoked link of ana (session)" in reasons
    assert [e["annotator"] for e in log if e["event"] == "login"] == ["ana", "ana", "bob"]
    assert [e["annotator"] for e in log if e["event"] == "closed"] == ["ana"]
    assert all(e["remote"] == "127.0.0.1" for e in log if e["event"] in ("refused", "login"))
    assert not any(token in (e["detail"] or "") or bob in (e["detail"] or "") for e in log)


def test_failures_from_one_address_and_prefix_are_slowed_down_exponentially():
    now = [1000.0]
    throttle = LoginThrottle(free=5, cap=60, clock=lambda: now[0])
    for _ in range(5):
        assert throttle.wait("10.0.0.9", "abcdefXY") == 0
        throttle.failed("10.0.0.9", "abcdefXY")
    assert throttle.wait("10.0.0.9", "abcdefZZ") == pytest.approx(1.0)  # the same link's prefix
    assert throttle.wait("10.0.0.8", "abcdefXY") == 0 and throttle.wait("10.0.0.9", "uvwxyz12") == 0
    now[0] += 1.0
    throttle.failed("10.0.0.9", "abcdefXY")
    assert throttle.wait("10.0.0.9", "abcdefXY") == pytest.approx(2.0)
    for _ in range(20):
        throttle.failed("10.0.0.9", "abcdefXY")
    assert throttle.wait("10.0.0.9", "abcdefXY") == pytest.approx(60.0)  # capped
    throttle.succeeded("10.0.0.9", "abcdefXY")
    assert throttle.wait("10.0.0.9", "abcdefXY") == 0


def test_the_throttle_forgets_addresses_quiet_for_an_hour():
    now = [1000.0]
    throttle = LoginThrottle(free=1, forget=3600, clock=lambda: now[0], free_per_address=1000)
    for k in range(100):  # many addresses, one failure each
        throttle.failed(f"10.0.{k // 256}.{k % 256}")
    throttle.failed("10.9.9.9")
    throttle.failed("10.9.9.9")
    assert throttle.wait("10.9.9.9") > 0
    now[0] += 3600.0
    throttle.failed("10.1.1.1")
    assert {remote for remote, _ in throttle.failures} == {"10.1.1.1"} and throttle.wait("10.9.9.9") == 0


async def test_a_throttled_link_is_refused_before_its_token_is_looked_at_and_other_links_still_open(
        project, spawned):
    token = token_of(add_annotator(project, "ana", "http://x"))
    bob = token_of(add_annotator(project, "bob", "http://x"))
    typo = token[:-1] + ("A" if token[-1] != "A" else "B")  # ana's link mistyped at its end
    now = [0.0]
    throttle = LoginThrottle(free=5, clock=lambda: now[0], free_per_address=8)
    async with Running(project.path, throttle=throttle) as running:
        for _ in range(5):
            assert await running.page(f"/a/{typo}") == 403
        assert await running.page(f"/a/{token}") == 429 and await running.session(f"/a/{token}/ws") == 429
        assert await running.page(f"/a/{bob}") == 200  # the lab's other links, same address: open
        now[0] += 1.5
        assert await running.page(f"/a/{token}") == 200
        for n in range(3):  # guesses of many prefixes from one address: the address is slowed down
            assert await running.page(f"/a/guess{n}") == 403
        assert await running.page(f"/a/{bob}") == 429
    assert spawned == []
    assert sum(e["event"] == "refused" for e in annotator_log(project)) == 8


async def test_the_page_loads_nothing_from_outside_the_server(project, spawned, monkeypatch):
    """Without a browser (quick): the page and every stylesheet it names are read as a browser
    would, with the network blocked but for loopback, and every address they load must be the
    server's own and answer. The test below loads the page in headless Chromium."""
    import re
    import socket

    real_connect = socket.socket.connect

    def loopback_only(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            raise OSError(f"network blocked in this test: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    token = token_of(add_annotator(project, "ana", "http://x"))
    async with Running(project.path) as running:
        async with running.client.get(f"{running.base}/a/{token}") as response:
            page = await response.text()
        loads = re.findall(r'(?:src|href)\s*=\s*"([^"]+)"|url\(\s*"?([^")]+)"?\s*\)', page)
        urls = [a or b for a, b in loads]
        assert any(u.endswith(".ttf") for u in urls) and any(u.endswith(".css") for u in urls)
        assert "googleapis" not in page and "@import" not in page
        for url in urls:
            assert url.startswith(running.base + "/static/"), url
            async with running.client.get(url) as response:
                assert response.status == 200, url
                if url.endswith(".css"):
                    css = await response.text()
                    assert not re.findall(r"url\(\s*\"?(?:https?:)?//", css) and "@import" not in css, url


@pytest.mark.slow
async def test_in_a_browser_with_the_network_blocked_every_request_of_the_page_stays_on_the_server(project):
    """Headless Chromium opens a personal link with every address but loopback unreachable: every
    request the page makes until the app's first screen arrives (the page, its script, stylesheet,
    fonts, image, the session's websocket) goes to the server and succeeds, and the page's font is
    the one in use. The same browser does record an outside request (so the check can fail)."""
    from headless_browser import HeadlessChromium, chromium

    executable = chromium()
    if executable is None:
        pytest.skip("needs Chromium (chromium, chromium-browser or google-chrome on PATH): absent on this machine")
    token = token_of(add_annotator(project, "ana", "http://x"))
    first_screen = ("document.body.classList.contains('-first-byte') && "
                    "document.fonts.check('16px \"Roboto Mono\"')")
    async with Running(project.path) as running, HeadlessChromium(executable) as browser:
        requests = await browser.visit(f"{running.base}/a/{token}", first_screen)
        outside = await browser.visit(
            "data:text/html,<link rel=stylesheet href='https://fonts.googleapis.com/css2?family=Roboto+Mono'>")
    ws_base = running.base.replace("http://", "ws://", 1)
    urls = [r["url"] for r in requests]
    assert [u for u in urls if not (u.startswith(running.base + "/") or u.startswith(ws_base + "/"))] == []
    # each answers (but the browser's own favicon probe, which the server has none for: a 404 on itself)
    assert [r for r in requests if r["error"] or (r["type"] != "WebSocket" and r["status"] != 200)
            and not r["url"].endswith("/favicon.ico")] == []
    assert f"{running.base}/a/{token}" in urls and f"{ws_base}/a/{token}/ws" in [u.split("?")[0] for u in urls]
    assert any(u.endswith(".ttf") for u in urls) and any(u.endswith(".css") for u in urls)
    assert any("fonts.googleapis.com" in r["url"] and r["error"] for r in outside)  # recorded, and blocked


async def test_behind_a_proxy_the_forwarded_address_is_the_one_throttled_and_logged(project, spawned):
    async with Running(project.path, behind_proxy=True) as running:
        for n in range(6):
            async with running.client.get(running.base + "/a/guess",
                                          headers={"X-Forwarded-For": f"198.51.100.{n % 2}"}) as response:
                assert response.status == 403  # 3 failures per address: none throttled
    assert {e["remote"] for e in annotator_log(project)} == {"198.51.100.0", "198.51.100.1"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_annotators_commands_add_list_revoke_and_show_the_log(project):
    out = run("annotators", project.path, "add", "ana", "--base-url", "https://label.example.org")
    assert out.exit_code == 0 and "https://label.example.org/a/" in out.output
    assert run("annotators", project.path, "add", "ana").exit_code == 1
    assert "ana" in run("annotators", project.path, "list").output
    out = run("annotators", project.path, "revoke", "zed")
    assert out.exit_code == 1 and "no annotator 'zed'" in out.output and "Traceback" not in out.output
    assert run("annotators", project.path, "revoke", "ana").exit_code == 0
    assert "revoked" in run("annotators", project.path, "list").output
    log = run("annotators", project.path, "log").output.splitlines()
    assert [line.split()[2] for line in log] == ["add", "revoke"]


def test_serve_refuses_an_open_address_without_annotators_and_warns_without_tls(project, monkeypatch, tmp_path):
    served = []
    monkeypatch.setattr(AnnotatorServer, "serve", lambda self, debug=False: served.append(self))
    out = run("serve", project.path, "--host", "0.0.0.0", "--port", "8124")
    assert out.exit_code == 1 and "no annotators" in out.output and served == []
    assert len(out.output.strip().splitlines()) == 1
    add_annotator(project, "ana", "http://x")
    out = CliRunner().invoke(main, ["serve", str(project.path), "--host", "0.0.0.0", "--port", "8124"])
    assert out.exit_code == 0 and "without TLS" in out.stderr and "reverse proxy" in out.stderr
    assert "Running an annotation round for a team" in out.stderr
    out = CliRunner().invoke(main, ["serve", str(project.path), "--port", "8124"])
    assert out.exit_code == 0 and "warning" not in out.stderr
    assert [(s.host, s.port) for s in served] == [("0.0.0.0", 8124), ("127.0.0.1", 8124)]
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    assert "both --certfile and --keyfile" in run("serve", project.path, "--certfile", cert).output
    out = run("serve", project.path, "--certfile", cert, "--keyfile", cert)
    assert out.exit_code == 1 and "cannot load the TLS certificate" in out.output
    out = run("review", project.path, "--annotator", "ana", "--serve")
    assert out.exit_code == 1 and "workbench serve" in out.output and "annotators PROJECT add ana" in out.output


ANNOTATORS, LABELS_EACH = ("ana", "bob", "cem"), 20


@pytest.mark.slow
async def test_three_annotators_label_at_once_each_label_stored_once_under_their_own_name(built_project):
    store = built_project
    version = store.latest_version()
    links = {name: add_annotator(store, name, "http://x") for name in ANNOTATORS}
    answers = {name: mapping_answers(LABELS_EACH, seed) for seed, name in enumerate(ANNOTATORS)}
    async with Running(store.path, codebook_version=version) as running:

        async def annotate(name: str) -> AnnotatorClient:
            client = AnnotatorClient(running.base + "/a/" + token_of(links[name]))
            await client.connect()
            await client.wait_for(READY, timeout=120)  # an annotator lands on the mapping screen
            for answer in answers[name]:
                assert await client.press(KEYS[answer]), f"{name}: no screen after a key"
            return client

        clients = await asyncio.gather(*(annotate(name) for name in ANNOTATORS))
        async with asyncio.timeout(30):  # the last keys' labels are written by now or shortly after
            while store.count("labels", "round = 'first'") < len(ANNOTATORS) * LABELS_EACH:
                await asyncio.sleep(0.2)
        for client in clients:
            await client.close()
        async with asyncio.timeout(60):  # a session's keys are counted when its handler ends, after the close
            while any(running.server.sessions.values()):
                await asyncio.sleep(0.1)
        latencies = running.server.latencies
    from workbench.annotate.tasks import pair_id
    from workbench.annotate.views import mapping_items

    pairs = [pair_id(item.document_id, code.uid)
             for item in mapping_items(store, version, store.sample_items("mapping", version)) for code in item.codes]
    expected = {name: expected_mapping_labels(pairs, answers[name]) for name in ANNOTATORS}
    stored: dict[str, Counter] = {}
    for row in store.labels("mapping", viewer=None, rounds=["first"]):
        stored.setdefault(row["annotator"], Counter())[(row["item_id"], row["label"])] += 1
    assert set(stored) == set(ANNOTATORS)
    assert compare_labels(expected, stored) == {"expected": 60, "stored": 60, "lost": 0, "duplicates": 0,
                                                "misattributed": 0}
    # every session's keys were timed; a screen update the app sends unasked (a refresh) can end a
    # client's wait before its key reaches the server, and two keys then share one timing
    assert set(latencies) == set(ANNOTATORS) and all(LABELS_EACH // 2 <= len(v) <= 2 * LABELS_EACH + 2
                                                     for v in latencies.values())
    assert [e["annotator"] for e in annotator_log(store) if e["event"] == "login"].count("ana") == 1


def test_links_default_to_where_the_project_is_served_or_the_last_base_url_given(project, monkeypatch):
    import socket

    monkeypatch.setattr(AnnotatorServer, "serve", lambda self, debug=False: None)
    first = run("annotators", project.path, "add", "ana").output
    assert "http://127.0.0.1:8000/a/" in first  # nothing served or given yet
    assert run("serve", project.path, "--host", "0.0.0.0", "--port", "8126").exit_code == 0
    assert f"http://{socket.getfqdn()}:8126/a/" in run("annotators", project.path, "add", "ben").output
    out = run("annotators", project.path, "add", "cem", "--base-url", "https://label.example.org/")
    assert "https://label.example.org/a/" in out.output
    assert run("serve", project.path, "--port", "8127").exit_code == 0  # a given address outlasts a serve
    assert "https://label.example.org/a/" in run("annotators", project.path, "add", "dee").output


async def test_a_stopped_session_leaves_no_open_process_transport(monkeypatch):
    """textual-serve's stop left the app process's transport to the garbage collector, which closed
    it after the event loop had ended ("Event loop is closed" after the served-app tests)."""
    import sys

    from textual_serve.download_manager import DownloadManager

    async def discard(*args):
        return True

    # an app whose output ends (textual-serve's stop returns then) but whose process lingers
    app = (f"exec {sys.executable} -c \"import os, time; print('__GANGLION__', flush=True); os.close(1); "
           f"os.close(2); time.sleep(60)\"")
    monkeypatch.setattr(serve_module, "STOP_WAIT_S", 0.3)
    service = TimedAppService(app, write_bytes=discard, write_str=discard, close=discard,
                              download_manager=DownloadManager(), debug=False)
    await service.start(80, 24)
    await service.stop()
    assert service._process.returncode is not None and service._process._transport.is_closing()
