"""What every screen of the workbench shares: the app's store, annotator and codebook version,
and the page keys of its paged table."""
from __future__ import annotations

import sqlite3

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.visual import VisualType
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ..errors import WorkbenchError
from ..store import Store, storage_error
from .paged_table import PagedTable

# one footer entry for both page keys: the footer must fit 120 columns with the app's keys (#25)
PAGE_BINDINGS = [Binding("]", "next_page", "Page", key_display="] ["),
                 Binding("[", "previous_page", "Prev page", show=False)]


def update_static(widget: Static, content: VisualType, keep_height: bool = False) -> None:
    """``Static.update`` that lays the screen out again only when the widget's height changes.

    A layout re-renders every widget on the screen (about half of a keypress on the review and
    audit screens at paper scale, bench/tui.py); a panel that keeps its height only needs itself
    repainted. ``keep_height`` (detail panels in a scroll view): shorter content is padded with
    blank lines to the panel's current height, so moving between items of different lengths does
    not re-lay out the screen; the panel only grows.
    """
    widget.update(content, layout=False)
    width = widget.content_size.width
    if not width:
        widget.refresh(layout=True)
        return
    container = widget.parent.size if isinstance(widget.parent, Widget) else widget.app.size
    height, current = widget.get_content_height(container, widget.app.size, width), widget.content_size.height
    if keep_height and height < current and isinstance(content, (str, Text)):
        padded = content + "\n" * (current - height) if isinstance(content, str) else \
            Text.assemble(content, "\n" * (current - height))
        widget.update(padded, layout=False)
    elif height != current:
        widget.refresh(layout=True)


class WorkbenchScreen(Screen):
    PAGED_TABLE = "PagedTable"  # selector of the table the page keys turn
    STATUS_LINE = ""  # selector of the Static that says "loading…" while a worker loads the screen

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def annotator(self) -> str:
        return self.app.annotator

    @property
    def version(self) -> int | None:
        return self.app.version

    def paged(self) -> PagedTable:
        return self.query_one(self.PAGED_TABLE, PagedTable)

    def action_next_page(self) -> None:
        self.paged().next_page()
        self.page_changed()

    def action_previous_page(self) -> None:
        self.paged().previous_page()
        self.page_changed()

    def page_changed(self) -> None:
        """Called after the page turned (screens refresh their detail panel here)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed (read-only or busy project, a bug) says so where "loading…" was."""
        if event.state is not WorkerState.ERROR:
            return
        exc = event.worker.error
        if isinstance(exc, sqlite3.OperationalError):
            exc = storage_error(self.app.project, exc)
        message = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
        if self.STATUS_LINE:
            self.query_one(self.STATUS_LINE, Static).update(Text(f"could not load: {message}", style="bold red"))
        self.fail(WorkbenchError(message))

    def fail(self, exc: Exception) -> None:
        """A mistake the annotator can fix is a notification, never a crash."""
        self.notify(str(exc), severity="error", timeout=6)

    def guarded(self, fn, *args, **kwargs):
        """Run a library call; a WorkbenchError becomes a notification and None."""
        try:
            return fn(*args, **kwargs)
        except WorkbenchError as exc:
            self.fail(exc)
        except sqlite3.OperationalError as exc:
            # Read-only, or still locked after the 60 s busy timeout: say plainly that it was not saved.
            self.fail(WorkbenchError(f"{storage_error(self.app.project, exc)}; this was NOT saved"))
        return None
