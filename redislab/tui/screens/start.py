"""The start screen: lessons with progress and minutes, the sandbox, the backend (with what
is available on this machine and how to fix what is not) and the language."""

from __future__ import annotations

import shutil
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RadioButton, RadioSet, Static

from ..messages import Availability, LessonsLoaded

BACKENDS = ("engine", "process", "docker")
LANGS = (("en", "English"), ("zh", "中文"))
SANDBOX = "sandbox"
COLUMNS = (" ", "#", "lesson", "topology", "min", "progress")


class StartScreen(Screen[None]):
    """Pick a lesson (or the sandbox), a backend and a language."""

    BINDINGS = [
        Binding("s", "sandbox", "Sandbox", id="sandbox",
                tooltip="A lab of any topology to play with, without steps"),
        Binding("b", "next_backend", "Backend", id="next-backend",
                tooltip="Use the next available backend (engine, process, docker)"),
        Binding("l", "toggle_lang", "Language", id="toggle-language",
                tooltip="Lessons in English or in Chinese"),
        Binding("f5", "recheck", "Re-check", id="recheck",
                tooltip="Look again at which backends work on this machine"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lessons: list[Any] = []
        self.available: dict[str, tuple[bool, str]] = {
            "engine": (True, "built-in Python nodes, nothing to install"),
            "process": ((True, "redis-server found on PATH") if shutil.which("redis-server")
                        else (False, "redis-server is not on PATH")),
            "docker": (False, "checking whether the Docker daemon answers…"),
        }
        self._docker_checked = False
        self._resumed = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="start-main"):
            with Vertical(id="lessons-box"):
                yield DataTable(id="lessons", cursor_type="row", zebra_stripes=True)
                yield Static("", id="lesson-summary")
            with Vertical(id="side"):
                with RadioSet(id="backends"):
                    for name in BACKENDS:
                        yield RadioButton(name, id=f"backend-{name}",
                                          value=name == self.app.backend)
                yield Static("", id="backend-details")
                with RadioSet(id="langs"):
                    for code, label in LANGS:
                        yield RadioButton(label, id=f"lang-{code}", value=code == self.app.lang)
                yield Static(
                    "[b]enter[/] open · [b]s[/] sandbox · [b]b[/] backend · [b]l[/] language\n"
                    "[b]F1[/] help · [b]ctrl+p[/] commands · [b]ctrl+q[/] quit",
                    id="start-keys")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#backends", RadioSet).border_title = "backend"
        self.query_one("#langs", RadioSet).border_title = "language"
        self.query_one("#lessons-box").border_title = "lessons"
        table = self.query_one("#lessons", DataTable)
        table.add_columns(*COLUMNS)
        table.add_row("", "", Text("loading lessons…", style="dim"), "", "", "", key="loading")
        self._show_backends()
        self.load_lessons(self.app.lang)
        if self.app.probe is not None:
            self.post_message(Availability(self.app.probe()))
        else:
            self.probe_backends()
        table.focus()

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="lessons")
    def load_lessons(self, lang: str) -> None:
        from ...lab import loader

        lessons, problems = [], []
        for path in loader.lesson_files(lang):
            try:
                lessons.append(loader.load(path))
            except loader.LessonError as exc:
                problems.append(f"{path.name}: {len(exc.problems)} problem(s)")
        self.post_message(LessonsLoaded(lang, lessons, self.app.progress(), problems))

    @work(thread=True, exclusive=True, group="probe")
    def probe_backends(self) -> None:
        from ..session import availability

        self.post_message(Availability(availability()))

    # ------------------------------------------------------------------ messages

    def on_lessons_loaded(self, msg: LessonsLoaded) -> None:
        self.lessons = msg.lessons
        table = self.query_one("#lessons", DataTable)
        table.clear(columns=True)
        table.add_columns(*COLUMNS)
        for lesson in msg.lessons:
            got = msg.progress.get(lesson.id) if msg.progress is not None else None
            label = got.label(len(lesson.steps)) if got is not None else "-"
            mark = Text("✓", style="bold green") if label == "done" else \
                Text("…", style="yellow") if label != "-" else Text("·", style="dim")
            shown = {"done": Text("done", style="green"), "-": Text("new", style="dim")}.get(
                label, Text(f"{label} steps", style="yellow"))
            table.add_row(mark, str(lesson.number or ""), lesson.title, lesson.topology,
                          str(lesson.minutes), shown, key=lesson.id)
        table.add_row(Text("◆", style="bold cyan"), "", Text("Sandbox", style="bold"),
                      "any", "-", Text("free play", style="dim"), key=SANDBOX)
        for problem in msg.problems:
            self.notify(f"lesson file with problems: {problem}", severity="warning")
        self._summary()

    def on_availability(self, msg: Availability) -> None:
        self.available.update(msg.backends)
        self._docker_checked = True
        self._show_backends()

    def _show_backends(self) -> None:
        details = Text()
        for name in BACKENDS:
            ok, detail = self.available.get(name, (False, "?"))
            button = self.query_one(f"#backend-{name}", RadioButton)
            button.disabled = not ok
            mark = "✓" if ok else ("…" if name == "docker" and not self._docker_checked else "✗")
            button.label = f"{name} {mark}"
            details.append(f"{name}: ", style="bold green" if ok else "bold red")
            details.append(detail + "\n", style="" if ok else "dim")
        self.query_one("#backend-details", Static).update(details)
        chosen = self.app.backend
        if not self.available.get(chosen, (False,))[0] and \
                (chosen != "docker" or self._docker_checked):
            self._choose_backend("engine")

    def _choose_backend(self, name: str) -> None:
        self.app.backend = name
        button = self.query_one(f"#backend-{name}", RadioButton)
        if not button.value:
            button.value = True

    @on(RadioSet.Changed, "#backends")
    def _backend_changed(self, event: RadioSet.Changed) -> None:
        if event.pressed.id:
            self.app.backend = event.pressed.id.removeprefix("backend-")

    @on(RadioSet.Changed, "#langs")
    def _lang_changed(self, event: RadioSet.Changed) -> None:
        if event.pressed.id:
            lang = event.pressed.id.removeprefix("lang-")
            if lang != self.app.lang:
                self.app.lang = lang
                self.load_lessons(lang)

    @on(DataTable.RowHighlighted, "#lessons")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._summary()

    def _summary(self) -> None:
        table = self.query_one("#lessons", DataTable)
        box = self.query_one("#lesson-summary", Static)
        key = self._current_key()
        lesson = self._lesson(key)
        if key == SANDBOX:
            box.update("[b]Sandbox[/]: pick a topology (standalone, replication, chain, "
                       "sentinel, cluster) and play with live nodes: consoles, INFO, logs, map.")
        elif lesson is not None:
            box.update(Text.assemble(
                (lesson.title, "bold"), f"  ({len(lesson.steps)} steps, ~{lesson.minutes} "
                f"min, {lesson.topology}, backends: {', '.join(lesson.backends)})\n",
                lesson.summary))
        else:
            box.update("")
        del table

    def _current_key(self) -> str | None:
        table = self.query_one("#lessons", DataTable)
        if table.row_count == 0:
            return None
        try:
            row = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return row.value

    def _lesson(self, key: str | None) -> Any:
        return next((x for x in self.lessons if x.id == key), None)

    # ------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#lessons")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.open(event.row_key.value)

    def open(self, key: str | None) -> None:
        """Open the lesson ``key`` (a lesson id) or the sandbox."""
        if key == SANDBOX:
            self.action_sandbox()
            return
        lesson = self._lesson(key)
        if lesson is None:
            return
        backend = self.app.backend
        if backend not in lesson.backends:
            self.notify(f"{lesson.title} does not run on the {backend} backend (it runs on "
                        f"{', '.join(lesson.backends)})", severity="error")
            return
        from .lesson import LessonScreen

        self.app.push_screen(LessonScreen(lesson, backend))

    def action_sandbox(self) -> None:
        from .sandbox import SandboxScreen, SandboxSetup

        def chosen(shape: str | None) -> None:
            if shape:
                self.app.push_screen(SandboxScreen(shape, self.app.backend))

        self.app.push_screen(SandboxSetup(self.app.backend), chosen)

    def action_next_backend(self) -> None:
        names = [n for n in BACKENDS if self.available.get(n, (False,))[0]]
        if not names:
            return
        i = names.index(self.app.backend) if self.app.backend in names else -1
        self._choose_backend(names[(i + 1) % len(names)])

    def action_toggle_lang(self) -> None:
        lang = "zh" if self.app.lang == "en" else "en"
        self.query_one(f"#lang-{lang}", RadioButton).value = True

    def action_recheck(self) -> None:
        self._docker_checked = False
        self.probe_backends()

    def on_screen_resume(self) -> None:
        if self._resumed:
            self.load_lessons(self.app.lang)  # back from a lesson: progress may have moved
        self._resumed = True
