"""Code-name audit (App. C "codebook quality"): each sampled code with its proposed name and most
central expressions; meaningful 0/1, redundant 0/1 (and with which code), name fits yes/no, an
optional better name. Accepted renames are written into a new codebook version."""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.worker import get_current_worker
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from ..annotate.assignments import visible_items
from ..annotate.labels import my_labels, record
from ..annotate.renames import apply_renames
from ..annotate.sampling import code_quality_sample
from ..annotate.tasks import task_protocol
from ..pipeline.code_view import CodeView, code_views
from .base import PAGE_BINDINGS, WorkbenchScreen, update_static
from .dialogs import TextPrompt
from .paged_table import PagedTable

TASK = "code_quality"
FIRST_CRITERION_COLUMN = 2  # after # and name
CENTRAL_CHUNK = 5  # codes whose central expressions are read at a time (≈ 0.1 s)
HEADERS = {"meaningful": "meaningful", "redundant": "redundant", "name_fit": "name fits"}


class AuditScreen(WorkbenchScreen):
    CSS_PATH = "audit_screen.tcss"
    PAGED_TABLE = "#audit-table"
    STATUS_LINE = "#audit-page"
    BINDINGS = [
        Binding("y", "label('1')", "Yes/1"),
        Binding("n", "label('0')", "No/0"),
        Binding("b", "better_name", "New name"),
        Binding("w", "write_renames", "Renames"),
        Binding("i", "toggle_instructions", "Help"),
        *PAGE_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.protocol = task_protocol(TASK)
        self.criteria = [c.id for c in self.protocol.criteria]
        self.codes: dict[str, CodeView] = {}
        self.all_codes: dict[int, CodeView] = {}
        self.labels: dict[tuple[str, str], str] = {}
        self._central: set[str] = set()  # codes whose central expressions are loaded
        self._showing: str | None = None  # the code in the detail panel (the loader reads it first)

    def compose(self) -> ComposeResult:
        columns = [("#", "idx"), ("name", "name")] + [(HEADERS.get(c, c), c) for c in self.criteria]
        columns += [("better name", "better_name"), ("named by", "source")]
        yield Header()
        yield Static("Code-name audit", classes="screen-title", id="audit-title")
        with Horizontal(id="audit-body"):
            with Vertical(id="audit-left"):
                yield PagedTable(columns, id="audit-table", cursor_type="cell")
                yield Static("loading the sample…", id="audit-page", classes="status-line")
            with VerticalScroll(id="code-detail", classes="panel"):
                yield Static("", id="code-detail-body")
        yield Static(Text(self.protocol.value_definition.strip() + "\n\n" + self.protocol.instructions.strip()),
                     id="audit-instructions", classes="instructions hidden")
        yield Footer()

    def on_mount(self) -> None:
        if self.version is None:
            self.query_one("#audit-page", Static).update("no codebook yet: run 'workbench build PROJECT' first")
            return
        self.query_one("#audit-title", Static).update(
            f"Code-name audit · codebook v{self.version} · protocol {self.protocol.id} {self.protocol.version}")
        self.load()

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def load(self) -> None:
        """Draw (or read) the sample in a worker (an annotator's assigned codes only, when the
        round assigns them some); then each code's central expressions, a few codes
        at a time and the one on screen first: they need the embeddings of every member (≈ 2 s for
        a 100-code sample at paper scale), and the table is usable without them."""
        worker = get_current_worker()
        store = self.app.open_store()
        try:
            uids = visible_items(store, TASK, self.version, self.annotator, code_quality_sample(store, self.version))
            everything = code_views(store, self.version, n_central=0)
            by_uid = {v.uid: v for v in everything}
            self.app.call_from_thread(self._loaded, [by_uid[u] for u in uids if u in by_uid], everything)
            todo = [u for u in uids if u in by_uid]
            while todo and not worker.is_cancelled:
                wanted = self._showing if self._showing in todo else None
                chunk = [wanted] if wanted else todo[:CENTRAL_CHUNK]
                todo = [u for u in todo if u not in chunk]
                self.app.call_from_thread(self._central_loaded, code_views(store, self.version, chunk))
        finally:
            store.close()

    def _loaded(self, views: list[CodeView], everything: list[CodeView]) -> None:
        self.codes = {v.uid: v for v in views}
        self.all_codes = {v.idx: v for v in everything}
        self.labels = my_labels(self.store, TASK, self.annotator, self.version)
        table = self.paged()
        table.set_rows([(v.uid, self._cells(v)) for v in views])
        table.move_cursor(row=0, column=FIRST_CRITERION_COLUMN, animate=False)
        table.focus()
        self.page_changed()

    def _central_loaded(self, views: list[CodeView]) -> None:
        for view in views:
            self.codes[view.uid] = view
            self._central.add(view.uid)
        if self._showing in {v.uid for v in views}:
            self.show_detail(self._showing)

    def _partner(self, uid: str) -> str:
        partner = self.labels.get((uid, "redundant_with"))
        found = [c for c in self.all_codes.values() if c.uid == partner]
        return f" (#{found[0].idx})" if found else ""

    def _cells(self, v: CodeView) -> list:
        cells = [str(v.idx), v.name or "—"]
        for criterion in self.criteria:
            value = self.labels.get((v.uid, criterion), "·")
            cells.append(value + (self._partner(v.uid) if criterion == "redundant" and value == "1" else ""))
        return cells + [self.labels.get((v.uid, "better_name"), ""), v.name_source or "—"]

    def page_changed(self) -> None:
        table = self.paged()
        done = sum(1 for uid in self.codes if all((uid, c) in self.labels for c in self.criteria))
        update_static(self.query_one("#audit-page", Static), f"{table.page_label()} · {done} fully labelled by you")
        self.show_detail(table.current_key())

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self.show_detail(event.cell_key.row_key.value)

    def show_detail(self, uid: str | None) -> None:
        self._showing = uid
        view = self.codes.get(uid or "")
        body = self.query_one("#code-detail-body", Static)
        if view is None:
            update_static(body, Text("No code selected.", style="dim"))
            return
        text = Text()
        text.append(f"#{view.idx} {view.name or '(unnamed)'}\n", style="bold")
        text.append(f"named by {view.name_source or '?'} · {view.size} expressions\n", style="dim")
        if view.description:
            text.append(f"description: {view.description}\n")
        text.append("\nmost central expressions\n", style="bold cyan")
        if view.uid not in self._central:
            text.append("  reading them…\n", style="dim")
        for sentence in view.central:
            text.append(f"  • {sentence}\n")
        text.append("\n")
        for criterion in self.protocol.criteria:
            value = self.labels.get((view.uid, criterion.id), "not labelled")
            text.append(f"{criterion.question}\n", style="italic")
            text.append(f"  your label: {value}{self._partner(view.uid) if criterion.id == 'redundant' else ''}\n")
        better = self.labels.get((view.uid, "better_name"))
        if better:
            text.append(f"your better name: {better}\n", style="green")
        update_static(body, text, keep_height=True)

    # -- actions ------------------------------------------------------------------------------
    def _refresh_row(self, uid: str) -> None:
        self.labels = my_labels(self.store, TASK, self.annotator, self.version)
        self.paged().update_row(uid, self._cells(self.codes[uid]))
        self.page_changed()

    def action_label(self, value: str) -> None:
        table = self.paged()
        uid, column = table.current_key(), table.current_column_key()
        if uid is None:
            return
        if column not in self.criteria:
            self.notify("move to meaningful, redundant or name fits (← →) first", severity="warning")
            return
        if self.guarded(record, self.store, TASK, uid, column, value, self.annotator, self.version) is None:
            return
        self._refresh_row(uid)
        position = self.criteria.index(column)
        if position + 1 < len(self.criteria):
            table.move_cursor(column=table.cursor_column + 1, animate=False)
        elif table.step(1) is not None:
            table.move_cursor(column=FIRST_CRITERION_COLUMN, animate=False)
        if column == "redundant" and value == "1":
            self.app.push_screen(TextPrompt(f"#{self.codes[uid].idx} '{self.codes[uid].name}' is redundant with "
                                            "which code? (its # or its name)"),
                                 lambda answer: self._redundant_with(uid, answer))

    def _redundant_with(self, uid: str, answer: str | None) -> None:
        if not answer or not answer.strip():
            return
        answer = answer.strip().lstrip("#")
        partner = self.all_codes.get(int(answer)) if answer.isdigit() else next(
            (c for c in self.all_codes.values() if (c.name or "").lower() == answer.lower()), None)
        if partner is None or partner.uid == uid:
            self.notify(f"no other code {answer!r} in codebook v{self.version}", severity="error")
            return
        if self.guarded(record, self.store, TASK, uid, "redundant_with", partner.uid, self.annotator,
                        self.version) is not None:
            self._refresh_row(uid)

    def action_better_name(self) -> None:
        uid = self.paged().current_key()
        if uid is None:
            return
        view = self.codes[uid]
        current = self.labels.get((uid, "better_name"), view.name or "")

        def done(value: str | None) -> None:
            if value and value.strip() and value.strip() != (view.name or ""):
                if self.guarded(record, self.store, TASK, uid, "better_name", value.strip(), self.annotator,
                                self.version) is not None:
                    self._refresh_row(uid)

        self.app.push_screen(TextPrompt(f"A better name for #{view.idx} '{view.name}'", current), done)

    def action_write_renames(self) -> None:
        if self.version is None:
            return
        done = self.guarded(lambda: [apply_renames(self.store, self.version, self.annotator)])
        if done is None:  # refused (the role): guarded said why
            return
        version = done[0]
        if version is None:
            self.notify("no rename is accepted yet: a rename needs a better name and a majority saying the name "
                        "does not fit", severity="warning", timeout=8)
            return
        self.notify(f"renames written into codebook version {version}", timeout=8)
        self.query_one("#audit-page", Static).update(f"renames written into codebook version {version}")

    def action_toggle_instructions(self) -> None:
        self.query_one("#audit-instructions").toggle_class("hidden")
