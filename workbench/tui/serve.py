"""The annotators' server: the workbench app in a browser (textual-serve), one app process per
session, opened only by an annotator's personal link ``/a/TOKEN``.

The token is checked on the page and again on the websocket that spawns the app; the app runs with
``--annotator`` taken from the token's row, so a session cannot label under another name. A wrong,
missing or revoked token gets a 403 page and spawns nothing; repeated failures from one address and
token prefix are throttled (:class:`LoginThrottle`); the page loads nothing from outside this server
(its font included: ``templates/app_index.html``); revoking a link closes its open sessions within ``REVOCATION_POLL_S``. Every login,
logout, refusal and closure goes to the project's audit log (``workbench annotators PROJECT log``).
"""
from __future__ import annotations

import asyncio
import errno
import os
import shlex
import socket
import ssl
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from ..annotate.annotators import (CLOSED, LINK_PATH, LOGIN, LOGOUT, REFUSED, Login, active_names, authenticate,
                                   log_event)
from ..errors import WorkbenchError
from ..store import open_project

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TEMPLATES = Path(__file__).resolve().parent / "templates"
REVOCATION_POLL_S = 2.0
STOP_WAIT_S = 5.0  # an app process asked to quit that has not exited by then is killed
PROXY_RECIPE = "README › Running an annotation round for a team › Behind a reverse proxy with TLS"
REFUSAL_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>DOVE Workbench</title></head>
<body style="font-family: sans-serif; margin: 3em"><h1>{title}</h1><p>{text}</p></body></html>"""


def serve_command(project: str | Path, annotator: str, codebook_version: int | None = None) -> str:
    """The shell command that runs one session's app (textual-serve spawns it through a shell)."""
    parts = [sys.executable, "-m", "workbench.tui", str(Path(project).resolve()), "--annotator", annotator]
    if codebook_version is not None:
        parts += ["--codebook-version", str(codebook_version)]
    return shlex.join(parts)


def port_error(host: str, port: int, exc: OSError) -> WorkbenchError:
    """The one line for a failed bind: a host that is not this machine's, or a port taken."""
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL or (exc.errno or 0) < 0:  # < 0: getaddrinfo
        return WorkbenchError(f"cannot serve on {host}: it is not an address of this machine ({exc.strerror or exc}): "
                              "give --host 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its "
                              "addresses")
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return WorkbenchError(f"cannot serve on {host}:{port} ({reason}): choose another --port, or stop "
                          "the program that holds it")


def served_url(host: str, port: int, tls: bool) -> str:
    """The address links to a server on HOST:PORT use (this machine's name for every interface)."""
    name = socket.getfqdn() if host in ("0.0.0.0", "::", "") else host
    return f"{'https' if tls else 'http'}://{f'[{name}]' if ':' in name else name}:{port}"


def check_port(host: str, port: int) -> None:
    """Bind and release HOST:PORT, so that a taken port is one line before the server prints its banner."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise port_error(host, port, exc) from None


def exposure_warning(host: str, port: int, n_annotators: int, tls: bool) -> str | None:
    """Refuse to open a non-loopback address with no annotator (nothing to serve but refusals);
    the warning to print when the links would cross the network unencrypted, else None."""
    if host in LOOPBACK:
        return None if n_annotators else ("warning: no annotator has a link yet, so every visit is refused: "
                                          "add one with 'workbench annotators PROJECT add NAME'")
    if not n_annotators:
        raise WorkbenchError(f"refusing to serve on {host}: the project has no annotators; add them first with "
                             "'workbench annotators PROJECT add NAME'")
    if tls:
        return None
    return (f"warning: serving on {host}:{port} without TLS: personal links and the corpus cross the network "
            f"in clear text; give --certfile and --keyfile, or serve on 127.0.0.1 behind a TLS reverse proxy "
            f"({PROXY_RECIPE})")


def tls_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext | None:
    if not certfile and not keyfile:
        return None
    if not (certfile and keyfile):
        raise WorkbenchError("TLS needs both --certfile and --keyfile")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise WorkbenchError(f"cannot load the TLS certificate {certfile} with key {keyfile} ({exc})") from None
    return context


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


class LoginThrottle:
    """Failed attempts per remote address and token prefix (the link's first ``PREFIX``
    characters), and per address overall. The first ``free`` failures of a (address, prefix) cost
    nothing; after them it must wait 2**(n - free) seconds (at most ``cap``) since its last failure
    before the server even looks at its next token; so must the whole address after
    ``free_per_address`` failures of any prefix. So one annotator's mistyped link does not lock
    out the right links of a lab behind one address (their tokens start otherwise), while
    guessing many tokens from one address is still slowed down. A success forgets its (address,
    prefix) failures; a quiet ``forget`` seconds (an hour) forgets an entry: the table holds only
    recent ones."""

    PREFIX = 6  # characters of the token that name its bucket (36 random bits: links differ there)

    def __init__(self, free: int = 5, cap: float = 300.0, forget: float = 3600.0, clock=time.monotonic,
                 free_per_address: int = 100):
        self.free, self.cap, self.forget, self.clock = free, cap, forget, clock
        self.free_per_address = free_per_address
        self.failures: dict[tuple[str, str | None], tuple[int, float]] = {}

    def _keys(self, remote: str, token: str | None) -> list[tuple[tuple[str, str | None], int]]:
        return [((remote, (token or "")[:self.PREFIX]), self.free), ((remote, None), self.free_per_address)]

    def wait(self, remote: str, token: str | None = None) -> float:
        """Seconds an attempt with ``token`` from ``remote`` must still wait; 0 when it is checked."""
        waits = [0.0]
        for key, free in self._keys(remote, token):
            n, last = self.failures.get(key, (0, 0.0))
            if n >= free:
                waits.append(last + min(self.cap, 2.0 ** (n - free)) - self.clock())
        return max(waits)

    def failed(self, remote: str, token: str | None = None) -> None:
        now = self.clock()
        self.failures = {k: f for k, f in self.failures.items() if now - f[1] < self.forget}
        for key, _ in self._keys(remote, token):
            n, _ = self.failures.get(key, (0, 0.0))
            self.failures[key] = (n + 1, now)

    def succeeded(self, remote: str, token: str | None = None) -> None:
        self.failures.pop(self._keys(remote, token)[0][0], None)


class TimedAppService(AppService):
    """One session's app process; times each keypress from its arrival at the server to the next
    screen output the app sends back (server-side keypress-to-screen latency)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self._key_at: float | None = None

    async def send_bytes(self, data: bytes) -> bool:
        if self._key_at is None:
            self._key_at = time.perf_counter()
        return await super().send_bytes(data)

    async def on_data(self, payload: bytes) -> None:
        if self._key_at is not None:
            self.latencies.append(time.perf_counter() - self._key_at)
            self._key_at = None
        await super().on_data(payload)

    async def stop(self) -> None:
        """textual-serve's stop, then wait for the app process and close its transport.

        textual-serve leaves both to the garbage collector, which closed the transport after the
        event loop had ended: "Exception ignored … RuntimeError: Event loop is closed" (4 times in
        the served-app tests before, none after). ``Process`` has no public close, hence its
        ``_transport``."""
        await super().stop()
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), timeout=STOP_WAIT_S)
        except TimeoutError:  # the app did not quit on textual-serve's request
            process.kill()
            await process.wait()
        process._transport.close()


class AnnotatorServer(Server):
    """textual-serve with personal links: ``/a/TOKEN`` (page) and ``/a/TOKEN/ws`` (session); no
    other route spawns anything. Store calls run on one worker thread, so a build holding the
    project's write lock never stalls the event loop that carries every session."""

    def __init__(self, project: str | Path, host: str = "127.0.0.1", port: int = 8000,
                 codebook_version: int | None = None, ssl_context: ssl.SSLContext | None = None,
                 behind_proxy: bool = False, throttle: LoginThrottle | None = None):
        super().__init__("", host=host, port=port, title=f"DOVE Workbench · {Path(project).name}")
        self.templates_path = TEMPLATES  # textual-serve's page without its call to a public font host
        self.project = Path(project)
        self.codebook_version = codebook_version
        self.ssl_context = ssl_context
        self.behind_proxy = behind_proxy
        self.throttle = throttle or LoginThrottle()
        self.sessions: dict[str, dict[web.WebSocketResponse, TimedAppService]] = {}
        self.latencies: dict[str, list[float]] = {}  # every finished or open session's, per annotator
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="annotator-store")
        self._store = None
        self._watcher: asyncio.Task | None = None

    # -- the store, on its own thread ---------------------------------------------------------
    async def _in_store(self, fn, *args, **kwargs):
        def call():
            if self._store is None:
                self._store = open_project(self.project)
            return fn(self._store, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    # -- the web application ------------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes([
            web.get(LINK_PATH + "{token}", self.handle_index, name="index"),
            web.get(LINK_PATH + "{token}/ws", self.handle_websocket, name="websocket"),
            web.static("/static", self.statics_path, name="static"),
            web.get("/", self.handle_no_token),
        ])
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        app.on_cleanup.append(self.on_cleanup)
        return app

    async def on_startup(self, app: web.Application) -> None:
        self._watcher = asyncio.create_task(self._close_revoked_sessions())

    async def on_shutdown(self, app: web.Application) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        for sockets in list(self.sessions.values()):
            for websocket in list(sockets):
                await websocket.close()

    async def on_cleanup(self, app: web.Application) -> None:
        """After the sessions' handlers have ended (and logged their logouts)."""
        if self._store is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._store.close)
            self._store = None
        self._executor.shutdown(wait=False)

    def serve(self, debug: bool = False) -> None:
        """Run until Ctrl-C (textual-serve's ``serve`` with TLS and without its banner)."""
        self.debug = debug
        self.initialize_logging()
        # no access log: its request lines would hold the tokens; the audit log records every visit
        web.run_app(self._make_app(), host=self.host, port=self.port, ssl_context=self.ssl_context,
                    access_log=None, print=lambda *args: None)

    def remote(self, request: web.Request) -> str:
        """The client's address; behind a trusted reverse proxy on loopback, the one it forwards."""
        peer = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For", "")
        if self.behind_proxy and peer in LOOPBACK and forwarded:
            return forwarded.split(",")[-1].strip()
        return peer

    def base_url(self, request: web.Request) -> str:
        https = self.ssl_context is not None or (
            self.behind_proxy and request.headers.get("X-Forwarded-Proto", "") == "https")
        return f"{'https' if https else 'http'}://{request.host}"

    async def login(self, request: web.Request) -> Login:
        """Check the request's token, throttled per remote address and token prefix; refusals are logged."""
        remote, token = self.remote(request), request.match_info.get("token")
        wait = self.throttle.wait(remote, token)
        if wait > 0:
            raise web.HTTPTooManyRequests(
                text=REFUSAL_PAGE.format(title="Too many failed attempts",
                                         text=f"Try again in {wait:.0f} seconds."),
                content_type="text/html", headers={"Retry-After": str(int(wait) + 1)})
        login = await self._in_store(authenticate, token)
        if login.name is None:
            self.throttle.failed(remote, token)
            what = "session" if request.path.endswith("/ws") else "page"  # never the token: a typo is near one
            await self._in_store(log_event, REFUSED, None, remote, f"{login.reason} ({what})")
            raise web.HTTPForbidden(
                text=REFUSAL_PAGE.format(title="This link does not open the workbench",
                                         text="It is not a valid personal link, or it was revoked. "
                                              "Ask the lead of the annotation round for yours."),
                content_type="text/html")
        self.throttle.succeeded(remote, token)
        return login

    async def handle_no_token(self, request: web.Request) -> web.Response:
        return await self.login(request)  # always refused: there is no token

    async def handle_index(self, request: web.Request) -> web.Response:
        await self.login(request)
        base = self.base_url(request)
        websocket = base + str(request.app.router["websocket"].url_for(token=request.match_info["token"]))
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": ("wss:" if base.startswith("https") else "ws:") + websocket.split(":", 1)[1],
            "config": {"static": {"url": base + "/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the page's address
        response.headers["Cache-Control"] = "no-store"
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One session: the app runs as the token's annotator, whatever the browser sends."""
        name = (await self.login(request)).name
        remote = self.remote(request)
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        service = TimedAppService(serve_command(self.project, name, self.codebook_version),
                                  write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                  close=websocket.close, download_manager=self.download_manager, debug=self.debug)
        self.sessions.setdefault(name, {})[websocket] = service
        await self._in_store(log_event, LOGIN, name, remote)
        try:
            await service.start(to_int(request.query.get("width", "80"), 80),
                                to_int(request.query.get("height", "24"), 24))
            try:
                await self._process_messages(websocket, service)
            finally:
                await service.stop()
        except asyncio.CancelledError:
            await websocket.close()
        finally:
            self.sessions[name].pop(websocket, None)
            self.latencies.setdefault(name, []).extend(service.latencies)
            slowest = p95(service.latencies)
            await self._in_store(log_event, LOGOUT, name, remote, f"{len(service.latencies)} keys" + (
                f", keypress-to-screen p95 {slowest * 1000:.0f} ms" if slowest is not None else ""))
        return websocket

    async def _close_revoked_sessions(self) -> None:
        """Close the open sessions of links revoked since they opened (revocation is another process)."""
        while True:
            await asyncio.sleep(REVOCATION_POLL_S)
            if not any(self.sessions.values()):
                continue
            active = await self._in_store(active_names)
            for name, sockets in list(self.sessions.items()):
                if name in active:
                    continue
                for websocket in list(sockets):
                    await self._in_store(log_event, CLOSED, name, None, "session closed: link revoked")
                    await websocket.close()
