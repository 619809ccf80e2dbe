"""The one App of the annotators' workbench; each task is a mode with its own screen.

Keys 1–5 switch screens (6: the lead screen, with ``--lead``); the footer shows every key of the current screen. The app holds one
Store for the UI thread (reads and short label writes); work in thread workers opens its own
Store (:meth:`WorkbenchApp.open_store`), because an SQLite connection belongs to one thread.
"""
from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from ..annotate.tasks import check_annotator
from ..code_view import working_version
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
    ]

    def __init__(self, project: str | Path, annotator: str, codebook_version: int | None = None, lead: bool = False):
        self.project = Path(project)
        self.annotator = check_annotator(annotator)
        self.lead = lead
        if lead:  # the lead's app opens on the lead screen (key 6, offered to no one else)
            self.DEFAULT_MODE = "lead"
        self.store = open_project(self.project)
        self.version = (working_version(self.store, codebook_version)
                        if codebook_version is not None or self.store.latest_version() is not None else None)
        super().__init__()
        self.sub_title = f"{self.annotator}{' (lead)' if lead else ''} · {self.project.name}" + (
            f" · codebook v{self.version}" if self.version is not None else " · no codebook yet")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The lead screen is the lead's: hidden from the footer, and its key does nothing, without --lead."""
        return self.lead or not (action == "switch_mode" and parameters == ("lead",))

    def open_store(self) -> Store:
        """A Store for the calling thread (use in workers; close it when done)."""
        return open_project(self.project)

    def on_unmount(self) -> None:
        self.store.close()
