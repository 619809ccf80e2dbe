"""The annotators' workbench: one Textual app with a screen per task (issue #4, DOVE App. C).

``workbench review PROJECT --annotator NAME`` runs :class:`WorkbenchApp`; every screen is a
module with its own ``.tcss``; every action is a key shown in the footer.
"""
from .app import WorkbenchApp

__all__ = ["WorkbenchApp"]
