"""Mapping labels (App. C "mapping capability"): a stratified sample of documents, each with the
codes the recognizer assigned; Yes/No per code, the document scrollable, code descriptions at hand."""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from ..annotate.assignments import visible_items
from ..annotate.labels import my_label_rows, record
from ..annotate.sampling import mapping_sample
from ..annotate.tasks import pair_id, task_protocol
from ..annotate.views import MappingItem, mapping_items
from .base import PAGE_BINDINGS, WorkbenchScreen, update_static
from .paged_table import PagedTable

TASK = "mapping"


class MappingScreen(WorkbenchScreen):
    CSS_PATH = "mapping_screen.tcss"
    PAGED_TABLE = "#doc-table"
    STATUS_LINE = "#mapping-page"
    AUTO_FOCUS = "#code-table"
    BINDINGS = [
        Binding("y", "label(0)", "Yes"),
        Binding("n", "label(1)", "No"),
        Binding("full_stop", "document(1)", "Doc", key_display=". ,"),
        Binding("comma", "document(-1)", "Prev doc", show=False),
        Binding("d", "scroll_text(1)", "Text", key_display="d u"),
        Binding("u", "scroll_text(-1)", "Text ↑", show=False),
        Binding("i", "toggle_instructions", "Help"),
        *PAGE_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.protocol = task_protocol(TASK)
        self.criterion = self.protocol.criteria[0]
        self.items: dict[str, MappingItem] = {}
        self.position: dict[str, int] = {}
        self.labels: dict[tuple[str, str], str] = {}
        self.carried: dict[tuple[str, str], int] = {}  # labels made on an earlier version: its number
        self.current: MappingItem | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Mapping labels", classes="screen-title", id="mapping-title")
        with Horizontal(id="mapping-body"):
            with Vertical(id="doc-list"):
                yield PagedTable([("#", "n"), ("document", "doc"), ("group", "group"), ("source", "source"),
                                  ("done", "done")], id="doc-table", cursor_type="row")
                yield Static("drawing the sample…", id="mapping-page", classes="status-line")
            with Vertical(id="doc-pane"):
                yield Static("", id="doc-title")
                with VerticalScroll(id="doc-text", classes="panel"):
                    yield Static("", id="doc-body")
                yield Static(Text(self.criterion.question, style="bold"), id="mapping-question")
                yield DataTable(id="code-table", cursor_type="row", zebra_stripes=True)
        yield Static(Text(self.protocol.instructions.strip()), id="mapping-instructions",
                     classes="instructions hidden")
        yield Footer()

    def on_mount(self) -> None:
        codes = self.query_one("#code-table", DataTable)
        codes.add_column("your answer", key="answer")
        codes.add_column("code", key="code")
        codes.add_column("description", key="description")
        if self.version is None:
            self.query_one("#mapping-page", Static).update("no codebook yet: run 'workbench build PROJECT' first")
            return
        self.query_one("#mapping-title", Static).update(
            f"Mapping labels · codebook v{self.version} · protocol {self.protocol.id} {self.protocol.version}")
        self.load()

    @work(thread=True, exclusive=True, group="mapping-load", exit_on_error=False)
    def load(self) -> None:
        """Draw (or read) the stratified sample and the recognizer's codes in a worker: the first
        draw computes q(z|x) for the corpus. An annotator with an assignment sees only its documents."""
        store = self.app.open_store()
        try:
            ids = visible_items(store, TASK, self.version, self.annotator, mapping_sample(store, self.version))
            items = mapping_items(store, self.version, ids)
        finally:
            store.close()
        self.app.call_from_thread(self._loaded, items)

    def _loaded(self, items: list[MappingItem]) -> None:
        self.items = {item.document_id: item for item in items}
        self.position = {item.document_id: n for n, item in enumerate(items, 1)}
        rows = my_label_rows(self.store, TASK, self.annotator, self.version)
        self.labels = {key: r["label"] for key, r in rows.items()}
        self.carried = {key: r["carried_from"] for key, r in rows.items() if r["carried_from"] is not None}
        table = self.paged()
        table.set_rows([(item.document_id, self._doc_cells(n, item)) for n, item in enumerate(items, 1)])
        unfinished = next((item.document_id for item in items if not self._done(item)), None)
        if unfinished is not None:  # reopen where the annotator stopped, not at document 1
            table.move_to(unfinished)
        self.page_changed()
        self.query_one("#code-table").focus()

    def _answer(self, item: MappingItem, uid: str) -> str | None:
        return self.labels.get((pair_id(item.document_id, uid), self.criterion.id))

    def _doc_cells(self, n: int, item: MappingItem) -> list:
        done = sum(1 for c in item.codes if self._answer(item, c.uid) is not None)
        return [str(n), item.document_id, item.group, item.source, f"{done}/{len(item.codes)}"]

    def _done(self, item: MappingItem) -> bool:
        return all(self._answer(item, c.uid) is not None for c in item.codes)

    def page_changed(self) -> None:
        self._status_line()
        self.show_document(self.paged().current_key())

    def _status_line(self) -> None:
        """Page, documents done (counted as the rows' n/n are) and carried labels."""
        done = sum(1 for item in self.items.values() if self._done(item))
        carried = sorted(set(self.carried.values()))
        origin = f" ({len(self.carried)} labels carried from {', '.join(f'v{v}' for v in carried)})" if carried else ""
        update_static(self.query_one("#mapping-page", Static),
                      f"{self.paged().page_label()} · {done}/{len(self.items)} documents done by you{origin}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "doc-table":
            self.show_document(getattr(event.row_key, "value", None))

    def show_document(self, doc_id: str | None, code_row: int = 0) -> None:
        item = self.items.get(doc_id or "")
        if item is self.current and item is not None:
            return
        self.current = item
        codes = self.query_one("#code-table", DataTable)
        codes.clear()
        if item is None:
            self.query_one("#doc-body", Static).update("")
            self.query_one("#doc-title", Static).update("")
            return
        self.query_one("#doc-title", Static).update(Text(
            f"{item.document_id} · group {item.group} · source {item.source}"
            + (f" · topic: {item.topic}" if item.topic else ""), style="bold"))
        self.query_one("#doc-body", Static).update(Text(item.text))
        self.query_one("#doc-text", VerticalScroll).scroll_home(animate=False)
        for code in item.codes:
            codes.add_row(self._answer_cell(item, code.uid), code.name or "(unnamed)", code.description or "",
                          key=code.uid)
        if codes.row_count:
            codes.move_cursor(row=min(code_row, codes.row_count - 1), animate=False)

    def _answer_cell(self, item: MappingItem, uid: str) -> Text:
        answer = self._answer(item, uid)
        if answer is None:
            return Text("·", style="dim")
        made_on = self.carried.get((pair_id(item.document_id, uid), self.criterion.id))
        return Text(answer + (f" (v{made_on})" if made_on is not None else ""),
                    style="bold green" if answer == self.criterion.values[0] else "bold red")

    # -- actions ------------------------------------------------------------------------------
    def action_label(self, option: int) -> None:
        item = self.current
        codes = self.query_one("#code-table", DataTable)
        if item is None or not codes.row_count:
            return
        code = item.codes[codes.cursor_row]
        value = self.criterion.values[option]
        if self.guarded(record, self.store, TASK, pair_id(item.document_id, code.uid), self.criterion.id, value,
                        self.annotator, self.version) is None:
            return
        self.labels[(pair_id(item.document_id, code.uid), self.criterion.id)] = str(value)
        self.carried.pop((pair_id(item.document_id, code.uid), self.criterion.id), None)
        codes.update_cell(code.uid, "answer", self._answer_cell(item, code.uid))
        self.paged().update_row(item.document_id, self._doc_cells(self.position[item.document_id], item))
        if codes.cursor_row + 1 < codes.row_count:
            codes.move_cursor(row=codes.cursor_row + 1, animate=False)
        elif self.paged().step(1) is not None:
            self.page_changed()
        else:  # the last document's last code: no next document, but one more done
            self._status_line()

    def action_document(self, offset: int) -> None:
        table = self.paged()
        if table.step(offset) is not None:
            self.page_changed()

    def action_scroll_text(self, direction: int) -> None:
        text = self.query_one("#doc-text", VerticalScroll)
        text.scroll_page_down(animate=False) if direction > 0 else text.scroll_page_up(animate=False)

    def action_toggle_instructions(self) -> None:
        self.query_one("#mapping-instructions").toggle_class("hidden")
