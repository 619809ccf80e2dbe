"""A table that holds one page of rows at a time.

Textual's DataTable, like ListView and OptionList, slows down once it holds thousands of rows; a
corpus has thousands of documents. The rows live in a plain list and only the current page is in
the widget; ``]`` / ``[`` (bound on the screens) turn the page.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from textual.coordinate import Coordinate
from textual.widgets import DataTable

PAGE_SIZE = 100


class PagedTable(DataTable):
    """A DataTable showing ``page_size`` of its rows; rows are (key, cells) pairs."""

    def __init__(self, columns: Sequence[tuple[str, str]], page_size: int = PAGE_SIZE, **kwargs: Any):
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self._column_spec = list(columns)
        self.page_size = page_size
        self.page = 0
        self.rows_data: list[tuple[str, list[Any]]] = []
        self._index: dict[str, int] = {}

    def on_mount(self) -> None:
        for label, key in self._column_spec:
            self.add_column(label, key=key)

    # -- rows ---------------------------------------------------------------------------------
    @property
    def pages(self) -> int:
        return max(1, -(-len(self.rows_data) // self.page_size))

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Any]]], keep: str | None = None) -> None:
        """Replace every row; stay on the row ``keep`` (default: the current one) if it is still there."""
        keep = keep if keep is not None else self.current_key()
        column = self.cursor_column
        self.rows_data = [(str(key), list(cells)) for key, cells in rows]
        self._index = {key: i for i, (key, _) in enumerate(self.rows_data)}
        position = self._index.get(keep, self.page * self.page_size) if keep is not None else 0
        self.show_page(min(position, max(len(self.rows_data) - 1, 0)) // self.page_size,
                       row=position % self.page_size, column=column)

    def show_page(self, page: int, row: int = 0, column: int = 0) -> None:
        self.page = max(0, min(page, self.pages - 1))
        self.clear()
        start = self.page * self.page_size
        for key, cells in self.rows_data[start:start + self.page_size]:
            self.add_row(*cells, key=key)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), column=column, animate=False)
        self.refresh(layout=True)  # column widths follow the new rows

    def next_page(self) -> None:
        if self.page + 1 < self.pages:
            self.show_page(self.page + 1, column=self.cursor_column)

    def previous_page(self) -> None:
        if self.page > 0:
            self.show_page(self.page - 1, column=self.cursor_column)

    def page_label(self) -> str:
        return f"page {self.page + 1}/{self.pages} · {len(self.rows_data):,} items"

    # -- cursor -------------------------------------------------------------------------------
    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value

    def current_column_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).column_key.value

    def move_to(self, key: str, column: int | None = None) -> bool:
        """Show the page holding ``key`` and put the cursor on it."""
        if key not in self._index:
            return False
        position = self._index[key]
        column = self.cursor_column if column is None else column
        if position // self.page_size != self.page:
            self.show_page(position // self.page_size, row=position % self.page_size, column=column)
        else:
            self.move_cursor(row=position % self.page_size, column=column, animate=False)
        return True

    def step(self, offset: int) -> str | None:
        """Move the cursor ``offset`` rows across pages; returns the new key (None at either end)."""
        key = self.current_key()
        if key is None:
            return None
        target = self._index[key] + offset
        if not 0 <= target < len(self.rows_data):
            return None
        new_key = self.rows_data[target][0]
        self.move_to(new_key)
        return new_key

    def update_row(self, key: str, cells: Sequence[Any]) -> None:
        """Change a row's cells, in the list and, if it is on the current page, on screen."""
        if key not in self._index:
            return
        before = self.rows_data[self._index[key]][1]
        self.rows_data[self._index[key]] = (key, list(cells))
        start = self.page * self.page_size
        if start <= self._index[key] < start + self.page_size:
            # Only changed cells, and re-measure a column only when the new value is wider than
            # it: re-measuring makes DataTable re-render the whole page (~40 ms at paper scale).
            for (_, column_key), value, old in zip(self._column_spec, cells, before):
                if value != old:
                    wider = cell_len(str(value)) > self.columns[column_key].content_width
                    self.update_cell(key, column_key, value, update_width=wider)
