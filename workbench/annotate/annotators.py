"""Annotators with personal links: add (a random token, only its hash stored), list, revoke, the
check the annotators' server makes on every page and session, and its audit log.

A link is ``BASE/a/TOKEN``; the token (256 random bits) is the annotator's identity on the server,
so the name a session labels under comes from the token's row, never from the browser.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import WorkbenchError
from ..store import Store
from .roles import ANNOTATOR, check_role
from .tasks import check_annotator

TOKEN_BYTES = 32  # 256 bits (the issue asks for at least 128)
LINK_PATH = "/a/"
# audit log events
ADDED, LOGIN, LOGOUT, REFUSED, REVOKED, CLOSED, ROLE = "add", "login", "logout", "refused", "revoke", "closed", "role"


@dataclass(frozen=True)
class Annotator:
    name: str
    created: float
    revoked: float | None
    role: str = ANNOTATOR
    linked: bool = True  # False for an annotator imported with their labels, who has no link yet

    @property
    def active(self) -> bool:
        return self.revoked is None


@dataclass(frozen=True)
class Login:
    """What a token opens: ``name`` when it is an active annotator's, else the refusal's reason."""
    name: str | None
    reason: str = ""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_base_url(base_url: str) -> str:
    """The address annotators reach the server at: http(s)://host[:port][/path], else one line."""
    parts = urlsplit((base_url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WorkbenchError(f"--base-url {base_url!r} is not a web address annotators can open: give "
                             "http://HOST:PORT or https://HOST (the scheme included)")
    return base_url.strip().rstrip("/")


def personal_url(base_url: str, token: str) -> str:
    return check_base_url(base_url) + LINK_PATH + token


LOCAL_URL = "http://127.0.0.1:8000"
BASE_URL_KEY, SERVED_URL_KEY = "links.base_url", "links.served_url"


def default_base_url(store: Store) -> str:
    """The address links use when none is given: the last ``--base-url`` given in this project,
    else where ``workbench serve`` last served it, else this machine's port 8000."""
    return store.get_meta(BASE_URL_KEY) or store.get_meta(SERVED_URL_KEY) or LOCAL_URL


def remember_served_url(store: Store, url: str) -> None:
    store.set_meta(SERVED_URL_KEY, check_base_url(url))


def add_annotator(store: Store, name: str, base_url: str | None = None, role: str = ANNOTATOR) -> str:
    """Give ``name`` a personal link and a role, and return the link (the only time the token is
    shown). A revoked annotator gets a new link; an active one keeps theirs (revoke it first to
    replace it). Names are unique whatever their case. ``base_url``: default
    :func:`default_base_url`; one given is remembered for the next links."""
    name, role = check_annotator(name), check_role(role)
    base_url = check_base_url(base_url) if base_url is not None else default_base_url(store)
    row = store.annotator_row(name)
    if row is not None and row["revoked"] is None and row["token_hash"]:  # imported annotators have no link yet
        taken = f"{name!r} is {row['name']!r} already (names are unique whatever their case)" \
            if row["name"] != name else f"{name!r} already has a link"
        raise WorkbenchError(f"{taken}: revoke it first ('annotators PROJECT revoke {row['name']}') "
                             "to send a new one")
    name = row["name"] if row else name
    token = secrets.token_urlsafe(TOKEN_BYTES)
    store.save_annotator(name, token_hash(token), role,
                         {"event": ADDED, "annotator": name, "detail": ("new link, " if row else "") + role})
    if base_url != default_base_url(store):
        store.set_meta(BASE_URL_KEY, base_url)
    return personal_url(base_url, token)


def set_role(store: Store, name: str, role: str) -> str:
    """Give a registered annotator another role; returns the name as registered."""
    role = check_role(role)
    row = store.annotator_row(check_annotator(name))
    if row is None:
        raise WorkbenchError(f"no annotator {name!r}: add them with 'workbench annotators PROJECT add {name} "
                             f"--role {role}'")
    store.set_annotator_role(row["name"], role, {"event": ROLE, "annotator": row["name"],
                                                 "detail": f"{row['role'] or ANNOTATOR} → {role}"})
    return row["name"]


def annotators(store: Store) -> list[Annotator]:
    return [Annotator(r["name"], r["created"], r["revoked"], r["role"] or ANNOTATOR, bool(r["token_hash"]))
            for r in store.annotator_rows()]


def revoke_annotator(store: Store, name: str) -> None:
    """Revoke ``name``'s link: new pages and sessions are refused at once, and the server closes
    the sessions that are open within seconds."""
    row = store.annotator_row(check_annotator(name))
    if row is None:
        known = ", ".join(a.name for a in annotators(store)) or "none yet"
        raise WorkbenchError(f"no annotator {name!r} (annotators: {known})")
    if row["revoked"] is not None:
        raise WorkbenchError(f"{name!r}'s link is already revoked: 'annotators PROJECT add {name}' sends a new one")
    store.revoke_annotator_row(row["name"], {"event": REVOKED, "annotator": row["name"]})


def authenticate(store: Store, token: str | None) -> Login:
    """Which active annotator ``token`` belongs to. Every stored hash is compared in constant time,
    so the answer's timing does not tell how close a guess was."""
    if not token:
        return Login(None, "no token")
    given = token_hash(token)
    found = None
    for row in store.annotator_rows():
        if hmac.compare_digest(given, row["token_hash"] or ""):  # imported annotators have no link
            found = row
    if found is None:
        return Login(None, "unknown token")
    if found["revoked"] is not None:
        return Login(None, f"revoked link of {found['name']}")
    return Login(found["name"])


def active_names(store: Store) -> set[str]:
    return {a.name for a in annotators(store) if a.active}


def log_event(store: Store, event: str, annotator: str | None = None, remote: str | None = None,
              detail: str = "") -> None:
    store.log_annotator_event({"event": event, "annotator": annotator, "remote": remote, "detail": detail})


def annotator_log(store: Store, limit: int | None = None) -> list[dict]:
    return store.annotator_events(limit)
