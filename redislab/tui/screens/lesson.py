"""A lesson: its text step by step on the left, the lab's live panes on the right.

Every lesson action goes through the :class:`~redislab.lab.runner.Runner` in a thread
worker; what it does comes back as runner events (commands and replies in the consoles,
actions with their equivalent commands, check results under the text).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding

from ...lab import runner as R
from ..messages import LabStatus
from ..widgets.lesson_view import LessonView
from .lab import LabScreen


class LessonScreen(LabScreen):
    """One lesson on one backend."""

    BINDINGS = [
        Binding("f2", "run_step", "Run", id="run-step",
                tooltip="Run the commands and actions of the step's text on their nodes"),
        Binding("f3", "check", "Check", id="check-step",
                tooltip="Check the lab is as the step wants it"),
        Binding("f4", "hint", "Hint", id="hint", tooltip="A hint for this step"),
        Binding("f5", "answer", "Answer", id="answer",
                tooltip="Show the step's answer and apply it to the lab"),
        Binding("f6", "prev_step", "Prev", id="prev-step", tooltip="The previous step"),
        Binding("f7", "next_step", "Next", id="next-step", tooltip="The next step"),
        Binding("f9", "reset_step", "Reset", id="reset-step",
                tooltip="A fresh lab brought to the start of this step"),
        Binding("f10", "reset_lesson", "Reset lesson", show=False, id="reset-lesson",
                tooltip="A fresh lab and step 1 (your progress on this lesson is cleared)"),
        # the same without function keys (browsers keep some of them), when not typing
        Binding("r", "run_step", "Run", show=False, id="run-step-letter",
                tooltip="Run the step's commands"),
        Binding("c", "check", "Check", show=False, id="check-step-letter",
                tooltip="Check the step"),
        Binding("h", "hint", "Hint", show=False, id="hint-letter", tooltip="A hint"),
        Binding("a", "answer", "Answer", show=False, id="answer-letter",
                tooltip="Show and apply the answer"),
        Binding("p", "prev_step", "Prev", show=False, id="prev-step-letter",
                tooltip="The previous step"),
        Binding("n", "next_step", "Next", show=False, id="next-step-letter",
                tooltip="The next step"),
    ]

    def __init__(self, lesson: Any, backend: str) -> None:
        super().__init__(lesson, backend)
        self.step_index = 0
        self.passed: set[int] = set()

    def compose_left(self) -> ComposeResult:
        yield LessonView(id="lesson")

    def on_mount(self) -> None:
        self.query_one(LessonView).border_title = self.lesson.title
        self.sub_title = f"{self.lesson.title} · {self.backend}"
        self._show_intro()

    def _show_intro(self) -> None:
        view = self.query_one(LessonView)
        view.show_step(f"{self.lesson.title} — starting the lab…",
                       self.lesson.intro or self.lesson.summary)

    # ------------------------------------------------------------------ events

    def on_lesson_event(self, e: Any) -> None:
        if isinstance(e, R.StepStarted):
            self.step_index = e.index
            if e.replay:
                self.set_status(f"replaying step {e.index + 1}: bringing the lab to where "
                                "you left off…", "yellow")
            else:
                self._show_step(e.index)
        elif isinstance(e, R.CheckFinished):
            if not e.replay:
                self._show_check(e)
            elif e.passed:
                self.passed.add(e.index)

    def _show_step(self, index: int) -> None:
        step = self.lesson.steps[index]
        runner = self.session.runner if self.session else None
        body = step.body
        if index == 0 and self.lesson.intro:
            body = self.lesson.intro + "\n\n---\n\n" + body
        if runner is not None and runner.started:
            try:
                body = runner.fill(body)
            except Exception:
                pass
        total = len(self.lesson.steps)
        mark = " ✓" if index in self.passed else ""
        self.query_one(LessonView).show_step(f"Step {index + 1}/{total} · {step.title}{mark}",
                                             body)
        self.sub_title = f"{self.lesson.title} · step {index + 1}/{total} · {self.backend}"

    def _show_check(self, e: Any) -> None:
        view = self.query_one(LessonView)
        lines = Text()
        if not e.checked:
            lines.append("This step has no check: read, try, and go on (F7).\n", style="dim")
        for outcome in e.outcomes:
            for depth, ok, text in outcome.lines():
                mark = {True: ("PASS ", "bold green"), False: ("FAIL ", "bold red"),
                        None: ("  -  ", "dim")}[ok]
                lines.append("  " * depth)
                lines.append(*mark)
                lines.append(f"{text}\n")
            if not outcome.passed:
                lines.append(f"  (gave up after {outcome.elapsed:.1f}s, {outcome.attempts} "
                             "tries)\n", style="dim")
        parts: list[Any] = [lines]
        if e.passed:
            self.passed.add(e.index)
            last = e.index + 1 >= len(self.lesson.steps)
            parts.append(Text("✓ Lesson complete!" if last else
                              "✓ Step passed — F7 for the next step.", style="bold green"))
            self._show_step_title()
        else:
            if e.hint:
                parts += [Text("Hint", style="bold yellow"), RichMarkdown(self.session.runner
                                                                           .fill(e.hint))]
            if e.explanation:
                parts += [Text("Why it can fail", style="bold red"),
                          RichMarkdown(e.explanation)]
        view.show_outcome(Group(*parts))

    def _show_step_title(self) -> None:
        step = self.lesson.steps[self.step_index]
        mark = " ✓" if self.step_index in self.passed else ""
        from textual.widgets import Static

        self.query_one("#step-title", Static).update(
            f"Step {self.step_index + 1}/{len(self.lesson.steps)} · {step.title}{mark}")

    def on_lab_status(self, msg: LabStatus) -> None:
        if msg.state == "idle":
            self._from_step = False

    # ------------------------------------------------------------------ actions

    def _begin(self, label: str) -> bool:
        if not self.ready():
            return False
        if self.busy:
            self.notify(f"wait: {self.busy}", severity="warning")
            return False
        self.busy = label
        self.set_status(label + "…", "yellow")
        return True

    @work(thread=True, group="lesson")
    def _do(self, name: str) -> None:
        session = self.session
        try:
            if name == "run":
                if session.run_step() == 0:
                    self.post_message(LabStatus("idle", text="nothing to run in this step: "
                                                             "read it and type in a console"))
                    return
            elif name == "check":
                session.check()
            elif name == "answer":
                session.answer()
            elif name == "reset-step":
                session.reset_step()
            elif name == "reset-lesson":
                session.reset_lesson()
            elif name.startswith("go "):
                session.go(int(name[3:]))
        except Exception as exc:
            self.post_message(LabStatus("idle", error=f"{name}: {exc}"))
            return
        self.post_message(LabStatus("idle"))

    def action_run_step(self) -> None:
        if self._begin(f"running step {self.step_index + 1}"):
            self._from_step = True
            self._do("run")

    def action_check(self) -> None:
        step = self.lesson.steps[self.step_index]
        timeouts = [getattr(c, "timeout", None) for c in step.checks(self.backend)]
        limit = max((t for t in timeouts if isinstance(t, (int, float))), default=None)
        extra = f" (up to {limit:.0f} s)" if limit else ""
        if self._begin(f"checking step {self.step_index + 1}{extra}"):
            self.query_one(LessonView).show_outcome(Text("checking…", style="yellow"))
            self._do("check")

    def action_hint(self) -> None:
        step = self.lesson.steps[self.step_index]
        text = step.hint or "_No hint for this step: the text says it all._"
        if self.session is not None and self.session.ready:
            text = self.session.runner.fill(text)
        self.query_one(LessonView).show_outcome(
            Group(Text("Hint", style="bold yellow"), RichMarkdown(text)))

    def action_answer(self) -> None:
        step = self.lesson.steps[self.step_index]
        if step.has_answer_section and step.answer_text:
            text = step.answer_text
        else:
            blocks = [b for b in step.blocks if b.runnable and b.runs_on(self.backend)]
            text = "\n\n".join(f"```{b.info}\n{b.text}\n```" for b in blocks) or \
                "_This step has nothing to apply._"
        if self.session is not None and self.session.ready:
            text = self.session.runner.fill(text)
        self.query_one(LessonView).show_outcome(
            Group(Text("Answer (applied to the lab)", style="bold cyan"), RichMarkdown(text)))
        if self._begin(f"applying the answer of step {self.step_index + 1}"):
            self._from_step = True
            self._do("answer")

    def action_next_step(self) -> None:
        if self.step_index + 1 >= len(self.lesson.steps):
            self.notify("This is the last step.")
            return
        if self._begin(f"going to step {self.step_index + 2}"):
            self._do(f"go {self.step_index + 1}")

    def action_prev_step(self) -> None:
        if self.step_index == 0:
            self.notify("This is the first step.")
            return
        if self._begin(f"going to step {self.step_index}"):
            self._do(f"go {self.step_index - 1}")

    def action_reset_step(self) -> None:
        if self._begin(f"rebuilding the lab for step {self.step_index + 1}"):
            self._do("reset-step")

    def action_reset_lesson(self) -> None:
        if self._begin("rebuilding the lab from step 1"):
            self.passed.clear()
            self._do("reset-lesson")

    @on(LessonView.Pressed)
    def _button(self, event: LessonView.Pressed) -> None:
        {"run": self.action_run_step, "check": self.action_check, "hint": self.action_hint,
         "answer": self.action_answer, "prev": self.action_prev_step,
         "next": self.action_next_step}[event.what]()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            ("run step", "Run the step's commands (F2)", self.action_run_step),
            ("check step", "Check the step (F3)", self.action_check),
            ("hint", "A hint for this step (F4)", self.action_hint),
            ("answer", "Show and apply the answer (F5)", self.action_answer),
            ("previous step", "F6", self.action_prev_step),
            ("next step", "F7", self.action_next_step),
            ("reset step", "A fresh lab at the start of this step (F9)",
             self.action_reset_step),
            ("reset lesson", "A fresh lab and step 1; progress cleared (F10)",
             self.action_reset_lesson),
        ] + super().palette_commands()
