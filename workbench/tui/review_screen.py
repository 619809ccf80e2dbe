"""Changes to approve: the proposals of the paused build with their evidence; approve, reject or
edit the names, then submit to resume the graph in a worker until the next pause or the end. Below
them the review proposals of codes the annotators do not agree on (α per code below the floor):
approve or edit asks how to change the code (rename, split, merge), reject keeps it; carried out at once."""
from __future__ import annotations

import json

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Log, ProgressBar, Static

from ..build import ProposalView, decide, quorum_outcomes, resume_payload, resume_review, review_queue
from ..build.decisions import REVIEW, parse_review_decision
from ..build.lines import node_line, score_breakdown
from ..build.review import review_line
from ..errors import WorkbenchError
from ..formatting import fmt
from .base import PAGE_BINDINGS, WorkbenchScreen, update_static
from .dialogs import TextPrompt
from .paged_table import PagedTable

COLUMNS = [("#", "id"), ("kind", "kind"), ("your decision", "mine"), ("code", "code"), ("proposed", "names")]
BUSY_ACTIONS = {"decide", "edit_names", "submit", "refresh"}


def short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


class ReviewScreen(WorkbenchScreen):
    CSS_PATH = "review_screen.tcss"
    BINDINGS = [
        Binding("a", "decide('approve')", "Approve"),
        Binding("r", "decide('reject')", "Reject"),
        Binding("e", "edit_names", "Edit"),
        Binding("s", "submit", "Submit"),
        Binding("g", "refresh", "Refresh"),
        *PAGE_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status = None
        self.views: dict[str, ProposalView] = {}
        self.mine: dict[int, dict] = {}
        self.votes: dict[int, str] = {}  # under review.quorum > 1: each proposal's votes and outcome
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Changes to approve", classes="screen-title", id="review-title")
        with Horizontal(id="review-body"):
            with Vertical(id="review-left"):
                yield PagedTable(COLUMNS, id="proposals", cursor_type="row")
                yield Static("", id="review-page", classes="status-line")
            with VerticalScroll(id="evidence", classes="panel"):
                yield Static("", id="evidence-body")
        yield Static("", id="build-state", classes="status-line")
        yield ProgressBar(total=None, show_eta=False, id="build-progress", classes="hidden")
        yield Log(id="build-log", max_lines=500)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        """Coming back to Changes shows what others proposed or decided meanwhile."""
        if self.status is not None and not self.running:
            self.reload()

    def action_refresh(self) -> None:
        if not self.running:
            self.reload()

    # -- loading ------------------------------------------------------------------------------
    def reload(self) -> None:
        status, views = review_queue(self.store, self.annotator)
        self.status = status
        self.views = {str(v.id): v for v in views}
        self.mine = self.store.decisions_by(self.annotator, [v.id for v in views])
        self.votes = ({pid: f"{outcome}: {text}" for pid, (outcome, _, text) in
                       quorum_outcomes(self.store, [v.id for v in views]).items() if text}
                      if self.store.config().review.quorum > 1 else {})
        self.paged().set_rows([(str(v.id), self._cells(v)) for v in views])
        self.query_one("#build-state", Static).update(self._state_line())
        self.page_changed()

    def _state_line(self) -> str:
        reviews = sum(1 for v in self.views.values() if v.kind == REVIEW)
        return self._build_line() + (f"\n{reviews} code(s) the annotators do not agree on: a or e to rename, split "
                                     "or merge one, r to keep it" if reviews else "")

    def _build_line(self) -> str:
        s = self.status
        if self.running:
            return "resuming the build…"
        if s.state == "paused":
            left = sum(1 for v in self.views.values() if v.id not in self.mine and v.kind != REVIEW)
            return (f"build {s.thread_id} paused for review: {len(s.proposal_ids)} proposal(s), {left} undecided "
                    "by you; "
                    "'s' records your decisions and resumes the build" + self._score_line())
        if s.state == "finished":
            return f"build {s.thread_id} finished: codebook version {s.version} ({s.stop_reason}); nothing to review"
        if s.state == "new":
            return "build not started: run 'workbench build PROJECT' (it pauses here for review)"
        if s.state == "running":
            return f"build {s.thread_id} {s.running_line}: its next pause shows here"
        return f"build {s.thread_id} stopped before {s.next_nodes}: continue it with 'workbench build PROJECT'"

    def _score_line(self) -> str:
        """The latest S(C) as its three terms: why it moved, not only how much."""
        rows = self.store.iterations(self.status.thread_id)
        if not rows:
            return ""
        r = rows[-1]
        return f"\nat iteration {r['iteration']}: {score_breakdown(r)} · σ {fmt(r.get('sigma'), 4)} (fixed for the build)"

    def _cells(self, v: ProposalView) -> list:
        code = short(v.evidence.get("name") or "?")
        if v.kind == REVIEW:
            low, high = v.evidence.get("ci") or [None, None]
            return [str(v.id), v.kind, "—", code, f"α {fmt(v.evidence.get('alpha'))} [{fmt(low)}, {fmt(high)}]"]
        if v.kind == "merge":
            code = f"{code} → {short(v.evidence.get('target_name') or '?')}"
        mine = self.mine.get(v.id)
        decision = "—"
        if mine:
            decision = mine["decision"]
            if mine["decision"] == "edit" and mine["names"]:
                decision = "edit: " + " | ".join(json.loads(mine["names"]))
        return [str(v.id), v.kind, decision, code,
                " | ".join(short(n) for n in v.names) if v.names else "(after merge)"]

    def page_changed(self) -> None:
        table = self.paged()
        update_static(self.query_one("#review-page", Static), table.page_label())
        self.show_evidence(table.current_key())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_evidence(getattr(event.row_key, "value", None))

    def show_evidence(self, key: str | None) -> None:
        body = self.query_one("#evidence-body", Static)
        view = self.views.get(key or "")
        if view is None:
            shown = Text("No proposal selected.", style="dim")
        else:
            shown = review_evidence_text(view) if view.kind == REVIEW else evidence_text(view, self.mine.get(view.id))
            if view.id in self.votes:
                shown = Text.assemble(Text(f"votes ({self.votes[view.id]})\n", style="bold magenta"), shown)
        update_static(body, shown, keep_height=True)

    # -- actions ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.running and action in BUSY_ACTIONS:
            return None  # shown greyed out while the build runs
        return True

    def _record(self, key: str, decision: str, names: list[str] | None = None) -> None:
        pid, view = int(key), self.views[key]
        build_given = {"approve": {"approve": [pid]}, "reject": {"reject": [pid]},
                       "edit": {"rename": [(pid, names or [])]}}
        given = {"review": [(pid, decision, names or [])]} if view.kind == REVIEW else build_given[decision]
        done = self.guarded(decide, self.store, self.annotator, **given)
        if done is None:
            return
        if view.kind == REVIEW and pid not in done.applied:  # a vote under review.quorum, not settled yet
            self.notify(f"vote recorded: #{pid} {done.votes.get(pid, '')}")
            self.reload()
            return
        if view.kind == REVIEW:
            version = done.applied.get(pid)
            self.notify(f"'{view.evidence.get('name')}' " + ("kept" if version is None
                                                            else f"{decision}: codebook version {version}"))
            self.reload()
            return
        self.mine = self.store.decisions_by(self.annotator, [v.id for v in self.views.values()])
        table = self.paged()
        table.update_row(key, self._cells(view))
        update_static(self.query_one("#build-state", Static), self._state_line())
        if table.step(1) is None:
            self.show_evidence(key)

    def action_decide(self, decision: str) -> None:
        key = self.paged().current_key()
        if key is None:
            return
        if self.views[key].kind != REVIEW:
            self._record(key, decision)
        elif decision == "reject":
            self._record(key, "keep")
        else:
            self._ask_review(key)

    def _ask_review(self, key: str) -> None:
        """How to change an unreliable code: one line, checked like any decision."""
        def done(value: str | None) -> None:
            if value is not None:
                decision, names = parse_review_decision(value)
                self._record(key, decision, names)

        self.app.push_screen(TextPrompt(f"Review #{key} '{self.views[key].evidence.get('name')}': 'rename: new name', "
                                        "'split: first | second', 'merge: other code' or 'keep'", ""), done)

    def action_edit_names(self) -> None:
        key = self.paged().current_key()
        if key is None:
            return
        view = self.views[key]
        if view.kind == REVIEW:
            self._ask_review(key)
            return
        if view.kind != "split":
            self.notify("a merged code is named after the merge; approve or reject this proposal", severity="warning")
            return

        def done(value: str | None) -> None:
            if value is not None:
                self._record(key, "edit", [n.strip() for n in value.split("|")])

        self.app.push_screen(TextPrompt(f"Names for the two codes of split #{view.id}, separated by |",
                                        " | ".join(view.names)), done)

    def action_submit(self) -> None:
        if self.status is None or self.status.state != "paused":
            self.notify("the build is not waiting for review", severity="warning")
            return
        try:
            payload = resume_payload(self.store, self.annotator, self.status.proposal_ids)
        except WorkbenchError as exc:
            self.fail(exc)
            return
        self.running = True
        self.refresh_bindings()
        self.query_one("#build-progress").remove_class("hidden")
        self.query_one("#build-state", Static).update(self._state_line())
        self.query_one("#build-log", Log).write_line(
            f"resuming build {self.status.thread_id} with {len(payload)} decision(s) by {self.annotator}")
        self.resume_build()

    @work(thread=True, exclusive=True, group="build", exit_on_error=False)
    def resume_build(self) -> None:
        """Run the graph in this thread with its own Store until it pauses again or ends."""
        store = self.app.open_store()
        try:
            status = resume_review(store, self.annotator, reviewed=self.status.proposal_ids,
                                   on_update=lambda node, values: self.app.call_from_thread(self._progress, node, values))
            self.app.call_from_thread(self._build_done, status, None)
        except Exception as exc:  # noqa: BLE001 — shown to the annotator; their decisions are stored already
            self.app.call_from_thread(self._build_done, None, str(exc) if isinstance(exc, WorkbenchError)
                                      else f"{type(exc).__name__}: {exc}")
        finally:
            store.close()

    def _progress(self, node: str, values: dict) -> None:
        self.query_one("#build-log", Log).write_line("▸ " + node_line(node, values))

    def _build_done(self, status, error: str | None) -> None:
        self.running = False
        self.refresh_bindings()
        self.query_one("#build-progress").add_class("hidden")
        log = self.query_one("#build-log", Log)
        if error:
            log.write_line(f"build stopped: {error}")
            self.notify(f"build stopped: {error}", severity="error", timeout=10)
        elif status.state == "paused":
            log.write_line(f"paused again for review: {len(status.proposal_ids)} new proposal(s)")
        else:
            log.write_line(f"build {status.state}: codebook version {status.version} ({status.stop_reason})")
        self.reload()


def evidence_text(view: ProposalView, mine: dict | None) -> Text:
    """The evidence for one proposal: usage n_k and z, distortion history, sample expressions of
    each side, the proposed names and who proposed them."""
    ev = view.evidence
    text = Text()
    title = f"{view.kind.title()} #{view.id}: '{ev.get('name')}'"
    if view.kind == "merge":
        title += f" into '{ev.get('target_name')}'"
    text.append(title + "\n", style="bold")
    text.append(f"iteration {view.iteration} · codebook v{view.version} · {ev.get('size', '?')} expressions\n",
                style="dim")
    line = f"usage n_k = {fmt(ev.get('n_k'), 2)} · z = {fmt(ev.get('z'), 2)}"
    if view.kind == "merge":
        line += (f" · target n_k = {fmt(ev.get('target_n_k'), 2)}"
                 f" · similarity = {fmt(ev.get('target_similarity'), 3)}")
    text.append(line + "\n")
    history = ev.get("distortion_history") or []
    text.append("distortion history: " + (" → ".join(fmt(d, 3) for d in history) or "—"))
    if ev.get("median_distortion") is not None:
        text.append(f" (median over codes {fmt(ev['median_distortion'], 3)})")
    text.append("\n")
    if view.kind == "split":
        text.append(f"proposed names: {' | '.join(view.names) or '—'}  by {view.names_source or '?'}\n")
        sides = [f"code 1 → '{n}'" for n in view.names] or ["code 1", "code 2"]
    else:
        text.append("names: the merged code is named after the merge\n")
        sides = [f"this code '{ev.get('name')}'", f"target '{ev.get('target_name')}'"]
    if mine:
        decided = mine["decision"] + (" → " + " | ".join(json.loads(mine["names"])) if mine.get("names") else "")
        text.append(f"your decision: {decided}\n", style="bold green" if mine["decision"] != "reject" else "bold red")
    else:
        text.append("your decision: none yet\n", style="yellow")
    for label, samples in zip(sides, ev.get("samples") or []):
        text.append(f"\n{label}\n", style="bold cyan")
        for sample in samples:
            text.append(f"  • {sample}\n")
    return text


def review_evidence_text(view: ProposalView) -> Text:
    """The evidence for a review proposal: the code's α with its interval against the floor, and
    each item the annotators label differently (document, the code's expressions in it, labels)."""
    ev = view.evidence
    text = Text()
    text.append(f"Review #{view.id}: '{ev.get('name')}'\n", style="bold")
    text.append(f"codebook v{view.version} · mapping, criterion {ev.get('criterion')}\n", style="dim")
    text.append(f"Krippendorff's {review_line(ev)}\n")
    text.append("decide: a / e → 'rename: new name', 'split: first | second', 'merge: other code'; r keeps it\n",
                style="yellow")
    if ev.get("blind"):
        text.append("who labelled what stays hidden until the lead closes the round\n", style="dim")
    for item in ev.get("disagreements") or []:
        text.append(f"\n{item['document_id']}  ", style="bold cyan")
        text.append(", ".join(f"{a}: {label}" for a, label in item["labels"].items()) + "\n")
        text.append(f"  • {item['excerpt']}\n")
    return text
