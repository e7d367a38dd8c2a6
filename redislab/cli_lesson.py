"""``redislab lesson list|validate|run|export|import|reset``: lessons from the command line.

``run --auto --check`` applies every step's answer and checks it, headless, printing a
transcript (each command and its reply as redis-cli prints it, each backend action with
the command a person would type, each check PASS/FAIL); it exits non-zero at the first
failing check and always tears the lab down, Ctrl-C included. Without ``--auto`` it is a
small line-mode lesson player (the full-screen one is the TUI).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli import main

if TYPE_CHECKING:
    from rich.console import Console

    from .lab.loader import Lesson
    from .lab.runner import Event

BACKEND_CHOICE = click.Choice(["engine", "process", "docker"])
LANG_CHOICE = click.Choice(["en", "zh"])


def _console(err: bool = False) -> "Console":
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=True)


def locale_lang() -> str:
    """``zh`` when the locale is Chinese, else ``en``."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@main.group("lesson")
def lesson_group() -> None:
    """Guided lessons: list them, check lesson files, run one."""


# ---------------------------------------------------------------------------- list


@lesson_group.command("list")
@click.option("--lang", type=LANG_CHOICE, help="language (default: from the locale)")
def list_cmd(lang: str | None) -> None:
    """The lessons, with your progress."""
    from rich.table import Table

    from .lab import loader
    from .lab.progress import Progress, ProgressError

    lang = lang or locale_lang()
    console = _console()
    files = loader.lesson_files(lang)
    if not files:
        console.print(f"no lessons found in {loader.lessons_dir()}")
        return
    try:
        progress = Progress()
    except ProgressError as exc:
        console.print(f"[yellow]{exc}[/]")
        progress = None
    table = Table(title=f"lessons ({lang})", title_justify="left")
    for col in ("#", "id", "title", "min", "progress"):
        table.add_column(col, no_wrap=col != "title", overflow="fold",
                         justify="right" if col in ("#", "min") else "left")
    for f in files:
        try:
            lesson = loader.load(f)
        except loader.LessonError as exc:
            table.add_row(f.name[:2], f.stem, f"[red]invalid: {len(exc.problems)} problem(s) "
                          f"(redislab lesson validate {f})[/]", "", "")
            continue
        got = progress.get(lesson.id) if progress else None
        label = got.label(len(lesson.steps)) if got else "-"
        if label == "done":
            label = "[green]done[/]"
        title = lesson.title
        if tuple(lesson.backends) != ("engine", "process", "docker"):
            title += f" [dim]({', '.join(lesson.backends)})[/]"
        table.add_row(str(lesson.number or ""), lesson.id, title, str(lesson.minutes), label)
    console.print(table)
    console.print("[dim]run one: redislab lesson run <id|#> --backend engine[/]")


# ---------------------------------------------------------------------------- validate


@lesson_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path())
def validate_cmd(files: tuple[str, ...]) -> None:
    """Check lesson FILES (or directories of them); every problem with its line number."""
    from .lab import loader

    console = _console()
    paths: list[Path] = []
    for f in files:
        p = Path(f)
        paths.extend(sorted(p.rglob("*.md")) if p.is_dir() else [p])
    paths = [p for p in paths if p.name not in ("FORMAT.md", "README.md")] or paths
    bad = 0
    for p in paths:
        problems = loader.validate(p)
        if problems:
            bad += 1
            for prob in problems:
                click.echo(str(prob))
        else:
            lesson = loader.load(p)
            console.print(f"[green]ok[/] {p} ({lesson.id}, {len(lesson.steps)} steps)")
    if bad:
        console.print(f"[red]{bad} of {len(paths)} file(s) with problems[/]")
        sys.exit(1)


# ---------------------------------------------------------------------------- progress


@lesson_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--user", help="name to put in the file (default: your login)")
def export_cmd(file: str, user: str | None) -> None:
    """Write your progress to FILE (to hand in, or to carry to another machine)."""
    from .lab.progress import Progress, ProgressError

    try:
        out = Progress().export(file, user=user)
    except (ProgressError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    _console().print(f"progress written to {out}")


@lesson_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="take the file's progress instead of merging")
def import_cmd(file: str, replace: bool) -> None:
    """Merge progress exported with `redislab lesson export`."""
    from .lab.progress import Progress, ProgressError

    try:
        ids = Progress().import_file(file, replace=replace)
    except ProgressError as exc:
        raise click.ClickException(str(exc)) from None
    _console().print(f"imported progress of {len(ids)} lesson(s): {', '.join(ids) or '-'}")


@lesson_group.command("reset")
@click.argument("ref", required=False)
@click.option("--all", "all_lessons", is_flag=True, help="every lesson")
def reset_cmd(ref: str | None, all_lessons: bool) -> None:
    """Forget your progress on lesson REF (or --all)."""
    from .lab.progress import Progress

    if not ref and not all_lessons:
        raise click.UsageError("give a lesson id or --all")
    lesson_id = None
    if ref:
        lesson_id = _find(ref, "en").id
    Progress().reset(lesson_id)
    _console().print("progress cleared" + (f" for {lesson_id}" if lesson_id else ""))


# ---------------------------------------------------------------------------- run


def _find(ref: str, lang: str) -> "Lesson":
    from .lab import loader

    try:
        return loader.find(ref, lang)
    except loader.LessonError as exc:
        for prob in exc.problems:
            click.echo(str(prob), err=True)
        raise click.ClickException("the lesson file has problems (see above)") from None
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None


@lesson_group.command("run")
@click.argument("ref", metavar="LESSON")
@click.option("--backend", "-b", type=BACKEND_CHOICE, default="engine", show_default=True,
              help="engine: built-in nodes; process: redis-server from PATH; docker")
@click.option("--auto", is_flag=True, help="apply every step's answer (no questions asked)")
@click.option("--check", "do_check", is_flag=True,
              help="with --auto: check every step, exit non-zero at the first failure")
@click.option("--lang", type=LANG_CHOICE, help="language (default: from the locale)")
@click.option("--fast", is_flag=True,
              help="no 5 s wait before full syncs (repl-diskless-sync-delay 0)")
@click.option("--timeout-scale", type=float, default=1.0, show_default=True,
              help="multiply every check's timeout")
@click.option("--port", "base_port", type=int, help="first port of the lab")
@click.option("--from-step", "from_step", type=int, default=1, show_default=True,
              help="start at this step (earlier ones are replayed quietly)")
@click.option("--resume", is_flag=True, help="continue where you left off")
def run_cmd(ref: str, backend: str, auto: bool, do_check: bool, lang: str | None, fast: bool,
            timeout_scale: float, base_port: int | None, from_step: int, resume: bool) -> None:
    """Run LESSON (an id, a number, or a .md file) on live nodes.

    Example: redislab lesson run 1 --backend engine --auto --check
    """
    from .lab.progress import Progress
    from .lab.runner import Runner, RunnerError

    lang = lang or locale_lang()
    lesson = _find(ref, lang)
    if do_check and not auto:
        raise click.UsageError("--check goes with --auto (interactive runs check on request)")
    if not 1 <= from_step <= len(lesson.steps):
        raise click.UsageError(f"--from-step: the lesson has steps 1..{len(lesson.steps)}")
    console = _console()
    printer = Transcript(console, lesson, verbose=not auto)
    progress = None if auto else Progress()
    try:
        runner = Runner(lesson, backend, on_event=printer, fast=fast,
                        timeout_scale=timeout_scale, base_port=base_port, progress=progress)
    except RunnerError as exc:
        raise click.ClickException(str(exc)) from None
    printer.fill = runner.fill

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    code = 0
    try:
        console.rule(f"[bold]{lesson.title}[/]  ({lesson.id}, {backend} backend)")
        runner.start()
        start = from_step - 1
        if resume and progress is not None:
            start = progress.resume_at(lesson.id)
        if start:
            console.print(f"[dim]replaying steps 1..{start} ...[/]")
            printer.quiet = True
            try:
                runner.replay(start)
            finally:
                printer.quiet = False
        if auto:
            ok = runner.run_auto(check=do_check, start=start)
            code = 0 if ok else 1
        else:
            code = _interactive(runner, console, start)
    except KeyboardInterrupt:
        console.print("\n[yellow]interrupted[/]")
        code = 130
    except RunnerError as exc:
        console.print(f"[bold red]redislab:[/] {exc}")
        code = 1
    finally:
        try:
            with console.status("tearing the lab down..."):
                runner.stop()
        except KeyboardInterrupt:
            runner.stop()
        for s, h in old.items():
            signal.signal(s, h)
    sys.exit(code)


# ---------------------------------------------------------------------------- transcript


class Transcript:
    """Prints runner events as a redis-cli-like transcript."""

    def __init__(self, console: "Console", lesson: "Lesson", verbose: bool = False):
        self.console = console
        self.lesson = lesson
        self.verbose = verbose
        self.quiet = False
        self.fill: Any = lambda text: text  # the runner's: placeholders filled in to show

    def __call__(self, event: "Event") -> None:
        from .lab import runner as R

        if self.quiet and not isinstance(event, (R.LabReady, R.LabStarting)):
            if isinstance(event, R.CheckFinished) and not event.passed:
                self._check(event)
            return
        handler = {
            R.LabStarting: self._starting, R.LabReady: self._ready,
            R.StepStarted: self._step, R.CommandRun: self._command, R.ActionRun: self._action,
            R.PipeRun: self._pipe, R.ConfEdited: self._conf, R.CheckFinished: self._check,
            R.LessonFinished: self._finished, R.LabStopped: self._stopped,
        }.get(type(event))
        if handler is not None:
            handler(event)

    def _starting(self, e: Any) -> None:
        names = ", ".join(f"{n.name} :{n.port}" for n in e.topology.nodes)
        self.console.print(f"[dim]starting the {e.topology.name} lab on {e.backend}: {names}[/]")

    def _ready(self, e: Any) -> None:
        from rich.table import Table

        table = Table(title=f"lab {e.lab_id} ({e.backend})", title_justify="left",
                      show_edge=False)
        for col in ("node", "address", "nodes reach it at"):
            table.add_column(col, no_wrap=True)
        for n in e.nodes:
            table.add_row(n.name, f"{n.address[0]}:{n.address[1]}",
                          f"{n.internal[0]}:{n.internal[1]}")
        self.console.print(table)
        if e.equivalent and e.backend == "docker":
            self.console.print("[dim]built with the equivalent of:[/]")
            for line in e.equivalent.splitlines():
                self.console.print(f"[dim]  $ {line}[/]", soft_wrap=True)

    def _step(self, e: Any) -> None:
        from rich.markdown import Markdown

        total = len(self.lesson.steps)
        self.console.rule(f"[bold cyan]Step {e.index + 1}/{total}[/] · {e.step.title}",
                          align="left")
        if self.verbose and e.step.body:
            self.console.print(Markdown(self.fill(e.step.body)))

    def _command(self, e: Any) -> None:
        from rich.markup import escape

        from .cli_lab import RAW_COMMANDS, format_raw, format_tty

        host, port = e.address
        self.console.print(f"[bold]{e.node}[/] [dim]{host}:{port}>[/] {escape(e.text)}")
        if e.error:
            self.console.print(f"[red]{escape(e.error)}[/]")
            return
        if e.args and e.args[0].lower() == "shutdown" and e.reply is None:
            self.console.print("not connected>")
            return
        words = " ".join(e.args[:2]).lower()
        raw = e.args and (e.args[0].lower() in RAW_COMMANDS or words in RAW_COMMANDS)
        text = format_raw(e.reply) if raw else format_tty(e.reply)
        style = "red" if text.startswith("(error)") else None
        self.console.print(escape(text.rstrip("\n")), style=style, soft_wrap=True)

    def _action(self, e: Any) -> None:
        from rich.markup import escape

        self.console.print(f"[magenta]▶ {e.action} {e.node}[/] [dim]({e.seconds:.1f}s)[/]")
        if e.equivalent:
            for line in e.equivalent.splitlines():
                self.console.print(f"[dim]  $ {escape(line)}[/]")
        if e.error:
            self.console.print(f"[red]  {escape(e.error)}[/]")

    def _pipe(self, e: Any) -> None:
        from rich.markup import escape

        self.console.print(f"[magenta]▶ {e.count} × {escape(e.text)} → {e.node}[/] "
                           "[dim](pipelined, as redis-cli --pipe)[/]")
        self.console.print(f"[dim]  $ {escape(e.equivalent)}[/]")
        if e.error:
            self.console.print(f"[red]  {escape(e.error)}[/]")
            return
        s = e.stats
        self.console.print("All data transferred. Waiting for the last reply...\n"
                           "Last reply received from server.\n"
                           f"errors: {s.errors}, replies: {s.replies}  [dim]({s.seconds:.1f}s)[/]")
        if s.first_error:
            self.console.print(f"[red]  first error: {escape(s.first_error)}[/]")

    def _conf(self, e: Any) -> None:
        from rich.markup import escape

        self.console.print(f"[magenta]▶ added to {e.node}'s redis.conf[/] [dim]{e.path}[/]")
        for line in e.lines:
            self.console.print(f"  {escape(line)}")
        if e.error:
            self.console.print(f"[red]  {escape(e.error)}[/]")

    def _check(self, e: Any) -> None:
        from rich.markdown import Markdown
        from rich.markup import escape
        from rich.panel import Panel

        if not e.checked:
            return
        for outcome in e.outcomes:
            for depth, ok, text in outcome.lines():
                mark = {True: "[green]PASS[/]", False: "[bold red]FAIL[/]",
                        None: "[dim]  - [/]"}[ok]
                self.console.print(f"{'  ' * depth}{mark} {escape(text)}")
            if not outcome.passed:
                self.console.print(f"[dim]  (gave up after {outcome.elapsed:.1f}s, "
                                   f"{outcome.attempts} tries)[/]")
        if not e.passed:
            if e.hint:
                self.console.print(Panel(Markdown(self.fill(e.hint)), title="hint", title_align="left",
                                         border_style="yellow"))
            if e.explanation:
                self.console.print(Panel(Markdown(e.explanation), title="why it can fail",
                                         title_align="left", border_style="red"))

    def _finished(self, e: Any) -> None:
        total = len(self.lesson.steps)
        if e.passed:
            self.console.rule(f"[bold green]all {total} steps passed[/]")
        else:
            self.console.rule(f"[bold red]step {e.steps + 1} of {total} failed[/]")

    def _stopped(self, e: Any) -> None:
        self.console.print(f"[dim]lab {e.lab_id} removed[/]")


# ---------------------------------------------------------------------------- line mode


HELP = ("[dim]commands: [bold]<node> <redis command>[/] (e.g. replica1 INFO replication) · "
        "[bold]run[/] the step's blocks · [bold]check[/] · [bold]hint[/] · [bold]answer[/] "
        "(apply it) · [bold]next[/] · [bold]back[/] · [bold]reset[/] (this step, fresh lab) · "
        "[bold]quit[/][/]")


def _interactive(runner: Any, console: "Console", start: int) -> int:
    """A small line-mode player: the learner types commands, checks, moves on."""
    from rich.markdown import Markdown

    lesson = runner.lesson
    if lesson.intro and start == 0:
        console.print(Markdown(lesson.intro))
    index = start
    runner.begin_step(index)
    console.print(HELP)
    nodes = runner.lab.topology.names
    while True:
        try:
            line = console.input(f"[bold cyan]step {index + 1}[/]> ").strip()
        except EOFError:
            return 0
        if not line:
            continue
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word in nodes:
            if rest:
                runner.run_command(word, rest)
            continue
        if word in ("q", "quit", "exit"):
            return 0
        if word in ("help", "?"):
            console.print(HELP)
        elif word == "run":
            for block in runner.steps[index].runnable_blocks(runner.backend_name):
                runner.run_block(block)
        elif word in ("c", "check"):
            result = runner.check(index)
            if result.passed:
                if not result.checked:
                    console.print("[dim]this step has no check[/]")
                if index + 1 >= len(runner.steps):
                    console.rule("[bold green]lesson complete[/]")
                    return 0
                console.print("[green]passed: type next[/]")
        elif word in ("h", "hint"):
            step = runner.steps[index]
            console.print(Markdown(step.hint or "_no hint for this step_"))
        elif word in ("a", "answer"):
            step = runner.steps[index]
            if step.answer_text:
                console.print(Markdown(step.answer_text))
            runner.apply_answer(index)
        elif word in ("n", "next"):
            if index + 1 < len(runner.steps):
                index += 1
                runner.begin_step(index)
            else:
                console.print("[dim]this is the last step[/]")
        elif word in ("b", "back"):
            if index > 0:
                index -= 1
                runner.begin_step(index)
        elif word == "reset":
            with console.status("rebuilding the lab..."):
                runner.reset_step(index)
        else:
            console.print(f"[red]unknown: {word}[/] (nodes: {', '.join(nodes)})")
            console.print(HELP)
