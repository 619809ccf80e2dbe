"""The app around the screens: keys 1–5 switch screens, the footer shows each screen's keys, and a
project with no build yet opens on every screen with a sentence saying what to do."""
from __future__ import annotations

import pytest
from textual.widgets import Static

from workbench.errors import WorkbenchError
from workbench.tui import WorkbenchApp
from workbench.tui.adjudication_screen import AdjudicationScreen
from workbench.tui.agreement_screen import AgreementScreen
from workbench.tui.audit_screen import AuditScreen
from workbench.tui.mapping_screen import MappingScreen
from workbench.tui.review_screen import ReviewScreen


def text(app, selector):
    return str(app.screen.query_one(selector, Static).render())


async def test_a_project_without_a_build_opens_every_screen(project):
    app = WorkbenchApp(project.path, "ann")
    async with app.run_test(size=(150, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert "build not started" in text(app, "#build-state")
        footer_keys = {b.key for (_, b, enabled, _) in app.active_bindings.values() if enabled}
        assert {"a", "r", "e", "s", "1", "5"} <= footer_keys
        for key, screen, selector, says in (("2", AuditScreen, "#audit-page", "no codebook yet"),
                                            ("3", MappingScreen, "#mapping-page", "no codebook yet"),
                                            ("4", AgreementScreen, "#agreement-title", "task mapping"),
                                            ("5", AdjudicationScreen, "#adj-title", "0 item(s)")):
            await pilot.press(key)
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, screen)
            assert says in text(app, selector)
        await pilot.press("1")
        assert isinstance(app.screen, ReviewScreen)


@pytest.mark.parametrize("role,offered", [("annotator", "2345q"), ("reviewer", "12345q"), ("lead", "123456q")])
async def test_each_role_is_offered_its_screens_and_every_footer_fits_120_columns(project, role, offered):
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    from workbench.annotate.annotators import add_annotator

    add_annotator(project, "ann", "http://x", role)
    app = WorkbenchApp(project.path, "Ann")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.annotator == "ann" and app.role == role
        # an annotator lands on their queue (Mapping), not on an empty Changes screen
        assert isinstance(app.screen, MappingScreen if role == "annotator" else ReviewScreen)
        for key in "123456":
            await pilot.press(key)
            await pilot.pause()
            keys = [k for k in app.screen.query_one(Footer).query(FooterKey) if k.display]
            assert {k.key for k in keys} >= set(offered) and not {k.key for k in keys} & (set("123456") - set(offered))
            assert all(0 <= k.region.x and k.region.right <= 120 for k in keys), type(app.screen).__name__
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) == ("1" in offered)


def test_a_reserved_or_empty_annotator_name_is_refused(project):
    for name in ("", "recognizer", "auto"):
        with pytest.raises(WorkbenchError):
            WorkbenchApp(project.path, name)


async def test_changes_refresh_shows_a_proposal_made_elsewhere_while_the_app_is_open(project):
    """Another session's labels make a code unreliable while this app is open: 'g' (or coming
    back to the screen) shows its review proposal; before, only a restart did."""
    import numpy as np

    from test_annotate_rounds import small_codebook
    from workbench.annotate.labels import record
    from workbench.annotate.tasks import pair_id
    from workbench.store import open_project

    version = small_codebook(project)
    app = WorkbenchApp(project.path, "ann")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app.screen.paged().rows_data == []
        elsewhere = open_project(project.path)
        rng = np.random.default_rng(3)
        for n in range(30):  # ana and bob label one code at random: its α is far below the floor
            for name in ("ana", "bob"):
                record(elsewhere, "mapping", pair_id(f"d{n}", "uid00"), "appropriate",
                       "yes" if rng.random() < 0.5 else "no", name, version)
        elsewhere.close()
        await pilot.press("g")
        await pilot.pause()
        assert [row[1][1] for row in app.screen.paged().rows_data] == ["review"]
        await pilot.press("2", "1")  # and coming back to the screen shows what is new
        await pilot.pause()
        assert len(app.screen.paged().rows_data) == 1


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_lead_flag_does_not_open_the_lead_screen_to_anyone_but_a_lead(project, role):
    from workbench.annotate.annotators import add_annotator

    add_annotator(project, "ann", "http://x", role)
    app = WorkbenchApp(project.path, "ann", lead=True)
    try:  # the lead screen shows every annotator's agreement so far: --lead gives no role
        assert not app.lead and app.DEFAULT_MODE != "lead"
        assert not app.check_action("switch_mode", ("lead",))
    finally:
        app.store.close()
