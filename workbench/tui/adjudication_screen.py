"""Adjudication (App. C): items the panel disagreed on are labelled again with the protocol's more
detailed instruction (still blind); items still evenly split are settled in discussion, where every
label is shown and a consensus label is recorded with a note."""
from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from ..annotate.adjudication import AdjudicationItem, adjudication_items
from ..annotate.agreement import default_version
from ..annotate.labels import record
from ..annotate.roles import ADJUDICATE, may
from ..annotate.tasks import CONSENSUS, REANNOTATION, TASKS, split_pair, task_protocol
from ..annotate.views import item_titles
from ..pipeline.code_view import code_views
from .base import PAGE_BINDINGS, WorkbenchScreen, update_static
from .dialogs import TextPrompt
from .paged_table import PagedTable

STATUS_TEXT = {"re-label": "re-label", "waiting": "waiting for others", "discuss": "discuss (2–2)",
               "resolved": "resolved by majority", CONSENSUS: "consensus"}


class AdjudicationScreen(WorkbenchScreen):
    CSS_PATH = "adjudication_screen.tcss"
    PAGED_TABLE = "#adj-table"
    BINDINGS = [
        Binding("y", "label(0)", "Yes/1"),
        Binding("n", "label(1)", "No/0"),
        Binding("t", "next_task", "Task"),
        Binding("g", "refresh", "Refresh"),
        *PAGE_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.task_name = "mapping"
        self.adjudicated: int | None = None  # the version adjudicated (newest with labels), not the app's
        self.items: dict[str, AdjudicationItem] = {}
        self.titles: dict[str, str] = {}
        self._codes: dict[tuple[int, str], object] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Adjudication", classes="screen-title", id="adj-title")
        with Horizontal(id="adj-body"):
            with Vertical(id="adj-left"):
                yield PagedTable([("status", "status"), ("criterion", "criterion"), ("item", "item")],
                                 id="adj-table", cursor_type="row")
                yield Static("", id="adj-page", classes="status-line")
            with VerticalScroll(id="adj-detail", classes="panel"):
                yield Static("", id="adj-detail-body")
        yield Footer()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_next_task(self) -> None:
        self.task_name = TASKS[(TASKS.index(self.task_name) + 1) % len(TASKS)]
        self.action_refresh()

    def action_refresh(self) -> None:
        self.adjudicated = default_version(self.store, self.task_name)
        items = adjudication_items(self.store, self.task_name, self.annotator, self.adjudicated)
        self.items = {f"{i.criterion}|{i.item_id}": i for i in items}
        self.titles = item_titles(self.store, self.task_name, self.adjudicated, [i.item_id for i in items])
        version = f"codebook v{self.adjudicated}" if self.adjudicated is not None else "all versions"
        mine = ("re-label", "discuss") if may(self.app.role, ADJUDICATE) else ("re-label",)
        todo = sum(1 for i in items if i.status in mine)
        update_static(self.query_one("#adj-title", Static),
                      f"Adjudication · task {self.task_name} · {version} · {len(items)} item(s) in disagreement, "
                      f"{todo} need you")
        table = self.paged()
        if list(self.items) == [key for key, _ in table.rows_data]:
            # After a label the same items remain: change only their cells; rebuilding the table
            # lays the screen out again (≈ 100–200 ms at paper scale, bench/tui.py).
            for key, item in self.items.items():
                table.update_row(key, self._cells(item))
        else:
            table.set_rows([(key, self._cells(i)) for key, i in self.items.items()])
        self.page_changed()

    def _cells(self, item: AdjudicationItem) -> list:
        return [STATUS_TEXT[item.status], item.criterion, self.titles.get(item.item_id, item.item_id)]

    def page_changed(self) -> None:
        table = self.paged()
        update_static(self.query_one("#adj-page", Static), table.page_label())
        self.show_detail(table.current_key())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail(getattr(event.row_key, "value", None))  # None: an emptied table

    def show_detail(self, key: str | None) -> None:
        body = self.query_one("#adj-detail-body", Static)
        item = self.items.get(key or "")
        if item is None:
            body.update(Text("Nothing to adjudicate: no item in disagreement." if not self.items
                             else "No item selected.", style="dim"))
            return
        protocol = task_protocol(self.task_name)
        criterion = protocol.criterion(item.criterion)
        text = Text()
        text.append(f"{STATUS_TEXT[item.status]} · {item.criterion}\n", style="bold")
        text.append(criterion.question + "\n", style="italic")
        text.append("  ".join(f"{key}: {o.value}" for key, o in zip("yn", criterion.labels)) + "\n\n", style="cyan")
        text.append(self._content(item))
        if item.labels is not None:
            text.append("\nlabels after re-annotation\n", style="bold")
            for annotator, label in sorted(item.labels.items()):
                text.append(f"  {annotator}: {label}\n")
        if item.consensus:
            text.append(f"\nconsensus: {item.consensus['label']} (recorded by {item.consensus['annotator']}): "
                        f"{item.consensus['note']}\n", style="bold green")
        if item.mine is not None:
            text.append(f"\nyour re-annotation: {item.mine}\n", style="green")
        if item.status in ("re-label", "waiting"):
            text.append("\nDetailed instruction\n", style="bold")
            text.append(protocol.detailed_instructions.strip() + "\n")
        elif item.status == "discuss":
            text.append("\nStill evenly split: discuss it; " + ("then record the consensus label (y/n) with a note.\n"
                        if may(self.app.role, ADJUDICATE) else "the lead records the consensus label.\n"),
                        style="yellow")
        update_static(body, text, keep_height=True)

    def _content(self, item: AdjudicationItem) -> str:
        """What the item is: the document and code, the code and its expressions, or the proposal."""
        if self.task_name == "mapping":
            doc_id, uid = split_pair(item.item_id)
            doc = self.store.documents_by_id([doc_id]).get(doc_id)
            code = self._code(uid)
            return (f"code: {getattr(code, 'name', uid)} — {getattr(code, 'description', '') or ''}\n\n"
                    f"document {doc_id}:\n{doc['text'] if doc else '(missing)'}\n")
        if self.task_name == "code_quality":
            code = self._code(item.item_id)
            if code is None:
                return item.item_id + "\n"
            return f"code #{code.idx} {code.name}\n" + "".join(f"  • {s}\n" for s in code.central)
        proposal = self.store.proposals([int(item.item_id)])
        if not proposal:
            return item.item_id + "\n"
        p = proposal[0]
        evidence = json.loads(p["evidence"] or "{}")
        return (f"{p['kind']} #{p['id']} of '{evidence.get('name')}'"
                + (f" into '{evidence.get('target_name')}'" if p["kind"] == "merge" else "")
                + f"; proposed names: {json.loads(p['names'] or '[]')}\n")

    def _code(self, uid: str):
        if self.adjudicated is None:
            return None
        if (self.adjudicated, uid) not in self._codes:
            views = code_views(self.store, self.adjudicated, [uid], n_central=5)
            self._codes[(self.adjudicated, uid)] = views[0] if views else None
        return self._codes[(self.adjudicated, uid)]

    # -- actions ------------------------------------------------------------------------------
    def action_label(self, option: int) -> None:
        key = self.paged().current_key()
        item = self.items.get(key or "")
        if item is None:
            return
        value = task_protocol(self.task_name).criterion(item.criterion).values[option]
        if item.status in ("discuss", CONSENSUS) and not may(self.app.role, ADJUDICATE):
            self.notify("the lead records the consensus label of an item still split", severity="warning")
            return
        if item.status == "discuss" or item.status == CONSENSUS:
            self.app.push_screen(
                TextPrompt(f"Consensus label '{value}' for {self.titles.get(item.item_id, item.item_id)}: "
                           "how did the discussion settle it?"),
                lambda note: self._consensus(item, value, note))
            return
        if item.status == "resolved":
            self.notify("resolved by majority after re-annotation: nothing to do", severity="warning")
            return
        if self.annotator not in item.raters:
            self.notify("you did not label this item in the first round", severity="warning")
            return
        if self.guarded(record, self.store, self.task_name, item.item_id, item.criterion, value, self.annotator,
                        item.codebook_version if self.task_name != "proposals" else self._proposal_version(item),
                        round=REANNOTATION) is not None:
            self.action_refresh()
            self.paged().step(1)

    def _proposal_version(self, item: AdjudicationItem) -> int | None:
        proposal = self.store.proposals([int(item.item_id)])
        return proposal[0]["version"] if proposal else None

    def _consensus(self, item: AdjudicationItem, value, note: str | None) -> None:
        if note is None:
            return
        version = item.codebook_version if self.task_name != "proposals" else self._proposal_version(item)
        if self.guarded(record, self.store, self.task_name, item.item_id, item.criterion, value, self.annotator, version,
                        round=CONSENSUS, note=note) is not None:
            self.action_refresh()
