"""The lead's view (opened with ``--lead``): one table per sampled task with every round of it
(a codebook version), per annotator done / assigned and last activity, the agreement so far, the
items waiting for adjudication, and whether the round is closed."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from ..annotate.assignments import SAMPLED_TASKS
from ..annotate.rounds import RoundProgress, progress
from ..formatting import fmt, local_time
from .base import WorkbenchScreen

COLUMNS = ("round", "state", "annotator", "done / assigned", "last active", "agreement so far",
           "waiting for adjudication")


def agreement_text(r: RoundProgress) -> str:
    """'criterion κ 0.40 α 0.38' per criterion with labels, or 'no labels yet'."""
    parts = [f"{c} κ {fmt(rep.pairwise_kappa.mean, 2)} α {fmt(rep.krippendorff_alpha, 2)}"
             for c, rep in r.agreement.reports.items() if rep.n_items]
    return "; ".join(parts) or "no labels yet"


def round_rows(r: RoundProgress) -> list[list[str]]:
    """The table rows of one round: one per annotator, the round's own cells on the first."""
    state = f"closed by {r.closed['closed_by']} {local_time(r.closed['closed'])}" if r.closed else "open"
    shared = [f"v{r.codebook_version}", state]
    tail = [agreement_text(r), str(r.waiting)]
    people = [[a.annotator, f"{a.done}/{a.assigned}" + ("" if a.has_assignment else " (whole sample)"),
               local_time(a.last_active)] for a in r.annotators] or [["—", f"0/{r.sample_size}", "never"]]
    return [(shared if n == 0 else ["", ""]) + cells + (tail if n == 0 else ["", ""])
            for n, cells in enumerate(people)]


class LeadScreen(WorkbenchScreen):
    CSS_PATH = "lead_screen.tcss"
    STATUS_LINE = "#lead-title"
    BINDINGS = [Binding("g", "refresh", "Refresh")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Lead · rounds", classes="screen-title", id="lead-title")
        for task in SAMPLED_TASKS:
            yield Static(f"{task} rounds", classes="status-line", id=f"lead-{task}-title")
            yield DataTable(id=f"lead-{task}", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        for task in SAMPLED_TASKS:
            table = self.query_one(f"#lead-{task}", DataTable)
            for label in COLUMNS:
                table.add_column(label)

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.query_one("#lead-title", Static).update("Lead · rounds · computing…")
        self.compute()

    @work(thread=True, exclusive=True, group="lead", exit_on_error=False)
    def compute(self) -> None:
        store = self.app.open_store()
        try:
            rounds = progress(store)
        finally:
            store.close()
        self.app.call_from_thread(self._show, rounds)

    def _show(self, rounds: list[RoundProgress]) -> None:
        self.query_one("#lead-title", Static).update(
            f"Lead · {len(rounds)} rounds · g refreshes · 'workbench assign' shares a sample out, "
            "'workbench round close' closes a round")
        for task in SAMPLED_TASKS:
            table = self.query_one(f"#lead-{task}", DataTable)
            table.clear()
            mine = [r for r in rounds if r.task == task]
            for r in mine:
                for n, row in enumerate(round_rows(r)):
                    table.add_row(*row, key=f"{r.codebook_version}|{n}")
            self.query_one(f"#lead-{task}-title", Static).update(
                f"{task} rounds: {len(mine)}" + ("" if mine else " (none yet: no one opened or was assigned one)"))
            table.refresh(layout=True)
