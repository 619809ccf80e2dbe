"""The one App of the annotators' workbench; each task is a mode with its own screen.

Keys 1–5 switch screens (6: the lead screen, for a lead); the footer shows every key of the
current screen. The annotator's role (:mod:`workbench.annotate.roles`, read from the project,
never from the command line) decides which screens are offered: Changes (1) to reviewers and
leads, the lead screen to leads; an annotator opens on their queue (Mapping); a refused screen key says in
one line which role opens it (the library's refusal). The app holds one
Store for the UI thread (reads and short label writes); work in thread workers opens its own
Store (:meth:`WorkbenchApp.open_store`), because an SQLite connection belongs to one thread.
"""
from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from ..annotate.roles import DECIDE, LEAD, SEE_LABELS, may, member, require
from ..errors import WorkbenchError
from ..pipeline.code_view import working_version
from ..store import Store, open_project
from .adjudication_screen import AdjudicationScreen
from .agreement_screen import AgreementScreen
from .audit_screen import AuditScreen
from .lead_screen import LeadScreen
from .mapping_screen import MappingScreen
from .review_screen import ReviewScreen


class WorkbenchApp(App):
    TITLE = "DOVE Workbench"
    CSS_PATH = "app.tcss"
    MODES = {"review": ReviewScreen, "audit": AuditScreen, "mapping": MappingScreen,
             "agreement": AgreementScreen, "adjudication": AdjudicationScreen, "lead": LeadScreen}
    DEFAULT_MODE = "review"
    BINDINGS = [
        Binding("1", "switch_mode('review')", "Changes"),
        Binding("2", "switch_mode('audit')", "Names"),
        Binding("3", "switch_mode('mapping')", "Mapping"),
        Binding("4", "switch_mode('agreement')", "Agreement"),
        Binding("5", "switch_mode('adjudication')", "Adjudicate"),
        Binding("6", "switch_mode('lead')", "Lead"),
        Binding("q", "quit", "Quit"),
        # reached only when the screen key above is refused: one line says why
        Binding("1", "refused('review')", show=False),
        Binding("6", "refused('lead')", show=False),
    ]
    ENABLE_COMMAND_PALETTE = False  # its footer entry cut the app's own keys at 120 columns

    def __init__(self, project: str | Path, annotator: str, codebook_version: int | None = None, lead: bool = False):
        self.project = Path(project)
        self.store = open_project(self.project)
        try:
            self.annotator, self.role = member(self.store, annotator)
        except BaseException:
            self.store.close()
            raise
        # the lead screen (key 6): a lead's in a project with annotators; with --lead in one without
        # (--lead gives no role: an annotator's --lead is refused like their key 6)
        self.lead = self.role == LEAD and (lead or self.store.has_annotators())
        if lead and self.lead:  # the lead's app opens on the lead screen
            self.DEFAULT_MODE = "lead"
        elif not may(self.role, DECIDE):  # an annotator opens on their queue, not on Changes
            self.DEFAULT_MODE = "mapping"
        self.version = (working_version(self.store, codebook_version)
                        if codebook_version is not None or self.store.latest_version() is not None else None)
        super().__init__()
        self.sub_title = f"{self.annotator} ({self.role}) · {self.project.name}" + (
            f" · codebook v{self.version}" if self.version is not None else " · no codebook yet")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A screen the role does not open is hidden from the footer and its key does nothing: the
        lead screen but for a lead, Changes but for a reviewer or lead."""
        if action == "refused":
            return not self.check_action("switch_mode", parameters)
        if action != "switch_mode":
            return True
        if parameters == ("lead",):
            return self.lead
        return parameters != ("review",) or may(self.role, DECIDE)

    def action_refused(self, mode: str) -> None:
        """A refused screen key: the library's one line saying which role opens the screen."""
        try:
            require(self.store, self.annotator, DECIDE if mode == "review" else SEE_LABELS)
        except WorkbenchError as exc:
            self.notify(str(exc), severity="warning", timeout=8)
            return
        self.notify("the Lead screen opens with 'workbench review PROJECT --annotator NAME --lead'", severity="warning")

    def open_store(self) -> Store:
        """A Store for the calling thread (use in workers; close it when done)."""
        return open_project(self.project)

    def on_unmount(self) -> None:
        self.store.close()
