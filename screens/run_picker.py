"""A dialog listing the project's finished runs to pick one from by keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from cockpit.evaluation.view import PICK_LIMIT, RunChoice
from cockpit.training.detail import model_label
from screens.evaluation_tabs import fill, fmt
from screens.keys import list_bindings, move_cursor

NO_RUN = 0  # what the picker returns for its "none" row (run ids start at 1)


class RunPicker(ModalScreen[int | None]):
    """Pick a run: one row per finished run (id, model, validation metric, evaluation
    status), the current run highlighted. Enter returns its id, Esc None. With `none`, a
    first row of that name returns NO_RUN; `marks` add a word to some runs' model; `names`
    name the models (detail.model_labels: a class, not its dotted path), else the family or
    the last part of its dotted path."""

    DEFAULT_CSS = """
    RunPicker { align: center middle; }
    RunPicker .dialog { width: 72; }
    RunPicker DataTable { height: auto; max-height: 16; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="run_picker.cancel"),
        *list_bindings("run_picker"),
    ]

    def __init__(
        self,
        choices: list[RunChoice],
        current: int | None,
        title: str = "Run to show",
        none: str | None = None,
        marks: dict[int, str] | None = None,
        names: dict[int, str] | None = None,
    ) -> None:
        super().__init__()
        self.choices = choices
        self.current = current
        self.title_text = title
        self.ids = ([NO_RUN] if none else []) + [c.run_id for c in choices]
        self.none = none
        self.marks = marks or {}
        self.names = names or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.title_text}  (Enter choose · Esc cancel)", classes="dialog-title")
            metric = self.choices[0].metric if self.choices else "the metric"
            best = f"the best {PICK_LIMIT}, " if len(self.choices) >= PICK_LIMIT else ""
            note = f"Finished runs, {best}best first. Validation: {metric}, scored as on the runs table."
            splits = {c.split_id for c in self.choices}
            if len(splits) > 1:  # validation numbers on other rows: shown, not comparable
                note += f" Runs on {len(splits)} splits: compare within one."
            yield Static(note, id="picker-note")
            yield DataTable(id="run-choices", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        several = len({c.split_id for c in self.choices}) > 1  # then each row names its split
        rows = [["●" if self.current in (None, NO_RUN) else "", "-", self.none, "", ""]] if self.none else []
        if rows and several:
            rows[0].insert(3, "")
        for c in self.choices:
            model = self.names.get(c.run_id) or model_label(c.family, short=False)
            model = f"{model} · {self.marks[c.run_id]}" if c.run_id in self.marks else model
            mark = "●" if c.run_id == self.current else ""
            split = [str(c.split_id) if c.split_id is not None else "-"] if several else []
            rows.append([mark, str(c.run_id), model, *split, fmt(c.value), c.status])
        columns = ["", "Run", "Model", *(["Split"] if several else []), "Validation", "Evaluation"]
        fill(table, columns, rows)
        current = NO_RUN if self.current is None else self.current
        if current in self.ids:
            table.move_cursor(row=self.ids.index(current))
        table.focus()

    async def action_cursor(self, step: int) -> None:
        await move_cursor(self.focused, step)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(self.ids[event.cursor_row])
