"""Long lists are paged: the table widget holds one page of rows, whatever the corpus size."""
from __future__ import annotations

from textual.app import App

from workbench.tui.paged_table import PagedTable


class OneTable(App):
    def compose(self):
        yield PagedTable([("#", "n"), ("text", "text")], page_size=100, id="t", cursor_type="row")


async def test_a_table_of_5000_rows_holds_one_page_and_steps_across_pages():
    app = OneTable()
    async with app.run_test() as pilot:
        table = app.query_one(PagedTable)
        table.set_rows([(f"k{i}", [str(i), f"row {i}"]) for i in range(5000)])
        await pilot.pause()
        assert table.row_count == 100 and table.page_label() == "page 1/50 · 5,000 items"
        table.next_page()
        assert table.current_key() == "k100" and table.row_count == 100
        table.move_to("k199")
        assert table.step(1) == "k200" and table.page == 2
        assert table.step(-1) == "k199" and table.page == 1
        table.update_row("k4999", ["4999", "changed off-page"])
        assert table.move_to("k4999") and table.page == 49 and table.get_row("k4999")[1] == "changed off-page"
        table.set_rows([(f"k{i}", [str(i), "again"]) for i in range(5000)])  # a reload keeps the row
        assert table.current_key() == "k4999"
        table.previous_page()
        assert table.page == 48 and table.current_key() == "k4800"
        assert table.step(10_000) is None
