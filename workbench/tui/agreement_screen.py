"""Agreement per task: pairwise Cohen's κ for every annotator pair and their mean, Fleiss' κ,
Krippendorff's α, percent agreement, number of items, each annotator's κ against the recognizer
(mapping), and the items in disagreement (without anyone's labels: the panel stays blind). While
the round is open an annotator sees figures over their own labels only (the library's
``agreement(viewer=…)``), and one line says why."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from ..annotate.agreement import TaskAgreement, agreement
from ..annotate.tasks import TASKS
from ..annotate.views import item_titles
from ..formatting import fmt, percent
from .base import PAGE_BINDINGS, WorkbenchScreen
from .paged_table import PagedTable

PAIRS_TITLE = "Cohen's κ per pair (the recognizer counts as one more rater on mapping)"
BLIND_TITLE = "Your labels only (and your κ vs the recognizer): κ with others shows once the lead closes the round"
SUMMARY = ["criterion", "items", "ratings", "annotators", "mean pairwise κ", "Fleiss κ", "Krippendorff α",
           "agreement %", "κ vs recognizer", "disagree", "2–2 splits"]


class AgreementScreen(WorkbenchScreen):
    CSS_PATH = "agreement_screen.tcss"
    PAGED_TABLE = "#disagreements"
    STATUS_LINE = "#agreement-title"
    BINDINGS = [
        Binding("t", "next_task", "Task"),
        Binding("r", "toggle_round", "Round"),
        Binding("g", "refresh", "Refresh"),
        *PAGE_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.task_name = "mapping"
        self.round = "final"
        self.result: TaskAgreement | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Agreement", classes="screen-title", id="agreement-title")
        yield DataTable(id="agreement-summary", cursor_type="row", zebra_stripes=True)
        yield Static(PAIRS_TITLE, classes="status-line", id="pairs-title")
        yield DataTable(id="agreement-pairs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="disagreement-title", classes="status-line")
        yield PagedTable([("criterion", "criterion"), ("item", "item")], id="disagreements", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        summary = self.query_one("#agreement-summary", DataTable)
        for label in SUMMARY:
            summary.add_column(label)
        pairs = self.query_one("#agreement-pairs", DataTable)
        for label in ("criterion", "rater A", "rater B", "Cohen's κ", "items"):
            pairs.add_column(label)

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_next_task(self) -> None:
        self.task_name = TASKS[(TASKS.index(self.task_name) + 1) % len(TASKS)]
        self.action_refresh()

    def action_toggle_round(self) -> None:
        self.round = "first" if self.round == "final" else "final"
        self.action_refresh()

    def action_refresh(self) -> None:
        self.query_one("#agreement-title", Static).update(f"Agreement · task {self.task_name} · computing…")
        self.compute(self.task_name, self.round)

    @work(thread=True, exclusive=True, group="agreement", exit_on_error=False)
    def compute(self, task: str, round: str) -> None:
        store = self.app.open_store()
        try:
            result = agreement(store, task, round=round, alpha_floor=store.config().annotation.alpha_floor,
                               viewer=self.annotator)
            items = [(c, item) for c, r in result.reports.items() for item in r.disagreements]
            titles = item_titles(store, task, result.codebook_version, [str(i) for _, i in items])
        finally:
            store.close()
        self.app.call_from_thread(self._show, result, items, titles)

    def _show(self, result: TaskAgreement, items: list, titles: dict[str, str]) -> None:
        if result.task != self.task_name or result.round != self.round:
            return  # the annotator switched task while this was computing
        self.result = result
        version = f"codebook v{result.codebook_version}" if result.codebook_version is not None else "all versions"
        self.query_one("#agreement-title", Static).update(
            f"Agreement · task {result.task} · {version} · round {result.round}"
            f" ({'re-annotations replace first labels' if result.round == 'final' else 'first labels only'})"
            f" · protocol {result.protocol_version}")
        summary = self.query_one("#agreement-summary", DataTable)
        summary.clear()
        pairs = self.query_one("#agreement-pairs", DataTable)
        pairs.clear()
        for criterion, r in result.reports.items():
            model = fmt(r.model.mean) if r.model is not None else "—"
            summary.add_row(criterion, str(r.n_items), str(r.n_ratings), str(len(r.raters)),
                            fmt(r.pairwise_kappa.mean), f"{fmt(r.fleiss_kappa.kappa)} (n={r.fleiss_kappa.n_items})",
                            fmt(r.krippendorff_alpha), percent(r.percent_agreement), model,
                            str(len(r.disagreements)), str(len(r.even_splits)))
            for pair in r.pairwise_kappa.pairs + (r.model.pairs if r.model is not None else []):
                pairs.add_row(criterion, pair.rater_a, pair.rater_b, fmt(pair.kappa), str(pair.n_items))
        self.query_one("#pairs-title", Static).update(BLIND_TITLE if result.blind else PAIRS_TITLE)
        self.query_one("#disagreement-title", Static).update(
            "Items in disagreement: listed once the lead closes the round (the panel stays blind until then)"
            if result.blind else f"Items in disagreement: {len(items)} (labels stay hidden until adjudication, key 5)")
        self.paged().set_rows([(f"{c}|{i}", [c, titles.get(str(i), str(i))]) for c, i in items])
        # Column widths grow with the new rows; repaint the tables so their headers follow.
        for table in (summary, pairs, self.paged()):
            table.refresh(layout=True)
