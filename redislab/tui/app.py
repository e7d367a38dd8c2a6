"""The redislab Textual app: a start screen (lessons, sandbox, backend, language), lesson
and sandbox screens with live panes, a help screen, light and dark themes.

Labs started here are torn down when the app ends, however it ends (quit keys, Ctrl-C,
SIGTERM / SIGHUP, the browser tab closing under ``redislab serve``).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual.app import App
from textual.binding import Binding

if TYPE_CHECKING:
    from .session import LabSession

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CSS_FILE = ASSETS / "redislab.tcss"


class RedisLabApp(App[None]):
    """redislab's TUI.

    Args:
        backend: the backend chosen at first (engine, process, docker).
        lang: lesson language (en, zh); default from the locale.
        fast: no 5 s wait before full syncs (``repl-diskless-sync-delay 0``).
        base_port: first port of every lab (default: the topology's, or the next free block).
        frozen: mask what changes between runs (snapshot tests).
        probe: returns ``{backend: (available, detail)}``; default: ask this machine.
        progress_path: where progress is kept (default: the data directory).
        handle_signals: turn SIGTERM / SIGHUP into a clean exit (the command line does).
    """

    TITLE = "redislab"
    SUB_TITLE = "Redis replication, Sentinel and Cluster on live nodes"
    CSS_PATH = str(CSS_FILE) if CSS_FILE.exists() else None
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("f1", "help", "Help", id="help", tooltip="Keys and what each pane shows"),
        Binding("question_mark", "help", "Help", show=False, id="help-key",
                tooltip="Keys and what each pane shows (when not typing)"),
        Binding("ctrl+t", "toggle_dark", "Theme", show=False, id="toggle-theme",
                tooltip="Switch between the light and the dark theme"),
        Binding("ctrl+q", "quit", "Quit", id="quit", tooltip="Tear the labs down and leave"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="interrupt",
                tooltip="Tear the labs down and leave"),
    ]

    def __init__(self, *, backend: str = "engine", lang: str | None = None, fast: bool = False,
                 base_port: int | None = None, frozen: bool = False,
                 probe: Callable[[], dict[str, tuple[bool, str]]] | None = None,
                 progress_path: str | None = None, handle_signals: bool = False) -> None:
        super().__init__()
        from ..cli_lesson import locale_lang

        self.backend = backend
        self.lang = lang or locale_lang()
        self.fast = fast
        self.base_port = base_port
        self.frozen = frozen
        self.probe = probe
        self.progress_path = progress_path
        self.handle_signals = handle_signals
        self.sessions: set["LabSession"] = set()
        self._sessions_lock = threading.Lock()
        self._quitting = False
        self.theme = "textual-dark"

    # ------------------------------------------------------------------ start

    def on_mount(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from .screens.start import StartScreen

        loop = asyncio.get_running_loop()
        # thread workers (commands, node actions, lesson steps) may each wait up to a
        # command's timeout on a paused node: more threads than the default 2 cores + 4
        loop.set_default_executor(ThreadPoolExecutor(max_workers=32,
                                                     thread_name_prefix="redislab"))
        if self.handle_signals:
            for sig in (signal.SIGTERM, signal.SIGHUP):
                try:
                    loop.add_signal_handler(sig, self._on_signal)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        self.push_screen(StartScreen())

    def _on_signal(self) -> None:
        self.run_worker(self._teardown_then_exit, thread=True, group="teardown")

    def progress(self) -> Any:
        from ..lab.progress import Progress, ProgressError

        try:
            return Progress(self.progress_path)
        except ProgressError:
            return None

    # ------------------------------------------------------------------ labs

    def new_session(self, lesson: Any, backend: str, *, on_event: Callable[[Any], None],
                    sandbox: bool = False) -> LabSession:
        """A lab for a screen, remembered so it is torn down when the app ends."""
        from .session import LabSession

        session = LabSession(lesson, backend, on_event=on_event, fast=self.fast,
                             base_port=self.base_port,
                             progress=None if sandbox else self.progress(), sandbox=sandbox)
        with self._sessions_lock:
            self.sessions.add(session)
        return session

    def close_session(self, session: "LabSession") -> None:
        """Tear ``session``'s lab down in the background."""
        self.run_worker(lambda: self._stop(session), thread=True, group="teardown",
                        name="teardown")

    def _stop(self, session: "LabSession") -> None:
        try:
            session.stop()
        finally:
            with self._sessions_lock:
                self.sessions.discard(session)

    def stop_labs(self) -> None:
        """Tear down every lab this app started (blocking; safe to call twice)."""
        with self._sessions_lock:
            sessions = list(self.sessions)
        for session in sessions:
            try:
                self._stop(session)
            except Exception:  # best effort: the next one must go down too
                pass

    def _teardown_then_exit(self) -> None:
        self.stop_labs()
        self.call_from_thread(self.exit)

    async def action_quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        with self._sessions_lock:
            busy = bool(self.sessions)
        if busy:
            self.notify("tearing the lab down…", timeout=10)
            self.run_worker(self._teardown_then_exit, thread=True, group="teardown")
        else:
            self.exit()

    async def on_unmount(self) -> None:
        await asyncio.to_thread(self.stop_labs)

    # ------------------------------------------------------------------ misc

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"


def run(**options: Any) -> int:
    """Run the app in this terminal; labs are torn down before returning."""
    app = RedisLabApp(handle_signals=True, **options)
    try:
        app.run()
    finally:
        app.stop_labs()
    return app.return_code or 0
