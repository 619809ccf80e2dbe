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

from ..errors import WorkbenchError
from ..store import Store
from .tasks import check_annotator

TOKEN_BYTES = 32  # 256 bits (the issue asks for at least 128)
LINK_PATH = "/a/"
# audit log events
ADDED, LOGIN, LOGOUT, REFUSED, REVOKED, CLOSED = "add", "login", "logout", "refused", "revoke", "closed"


@dataclass(frozen=True)
class Annotator:
    name: str
    created: float
    revoked: float | None
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


def personal_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + LINK_PATH + token


def add_annotator(store: Store, name: str, base_url: str) -> str:
    """Give ``name`` a personal link and return it (the only time the token is shown). A revoked
    annotator gets a new link; an active one keeps theirs (revoke it first to replace it)."""
    name = check_annotator(name)
    row = store.annotator_row(name)
    if row is not None and row["revoked"] is None and row["token_hash"]:  # imported annotators have no link yet
        raise WorkbenchError(f"{name!r} already has a link: revoke it first ('annotators PROJECT revoke {name}') "
                             "to send a new one")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    store.save_annotator(name, token_hash(token),
                         {"event": ADDED, "annotator": name, "detail": "new link" if row else ""})
    return personal_url(base_url, token)


def annotators(store: Store) -> list[Annotator]:
    return [Annotator(r["name"], r["created"], r["revoked"], bool(r["token_hash"])) for r in store.annotator_rows()]


def revoke_annotator(store: Store, name: str) -> None:
    """Revoke ``name``'s link: new pages and sessions are refused at once, and the server closes
    the sessions that are open within seconds."""
    row = store.annotator_row(name.strip())
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
