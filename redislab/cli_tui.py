"""``redislab cli`` (a redis-cli-like REPL), ``redislab serve`` (the TUI in a browser) and
``redislab quick`` (three bare engine nodes, no TUI). Registered on :mod:`redislab.cli`."""

from __future__ import annotations

import shlex
import sys

import click

from .cli import main

BACKEND_CHOICE = click.Choice(["engine", "process", "docker"])


@main.command("cli", context_settings={"help_option_names": ["--help"]})
@click.argument("node", required=False)
@click.option("--lab", "lab_id", help="lab id (default: the most recent lab)")
@click.option("-h", "host", help="a plain server's host (instead of a lab's node)")
@click.option("-p", "port", type=int, help="a plain server's port")
@click.option("-a", "password", help="password for -h/-p (lab nodes know theirs)")
def cli_cmd(node: str | None, lab_id: str | None, host: str | None, port: int | None,
            password: str | None) -> None:
    """A redis-cli-like REPL on NODE of a running lab, or on -h HOST -p PORT.

    Tab completes command and node names, the syntax of the command being typed shows
    below the prompt, @replica1 (or :node replica1) switches node, history is kept.
    """
    from .backends import BackendError
    from .repl import repl_for, run_repl

    try:
        repl = repl_for(node, lab_id=lab_id, host=host, port=port, password=password)
    except (BackendError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        raise click.ClickException(f"{msg} (or give -h HOST -p PORT)") from None
    sys.exit(run_repl(repl))


@main.command("serve")
@click.option("--port", type=int, default=8000, show_default=True,
              help="port of the web server (on 127.0.0.1)")
@click.option("--backend", "-b", type=BACKEND_CHOICE, default="engine", show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh"]))
@click.option("--fast", is_flag=True, help="no 5 s wait before full syncs")
@click.option("--base-port", type=int, help="first port of the labs (default: the "
                                            "topology's, or the next free block)")
def serve_cmd(port: int, backend: str, lang: str | None, fast: bool,
              base_port: int | None) -> None:
    """The lab in a browser (textual-serve), on http://127.0.0.1:PORT.

    Each browser tab runs its own app with its own labs; closing the tab tears them down.
    """
    try:
        from textual_serve.server import Server
    except ImportError:
        raise click.ClickException("textual-serve is not installed: pip install "
                                   "textual-serve") from None
    args = [sys.executable, "-m", "redislab", "--backend", backend]
    if lang:
        args += ["--lang", lang]
    if fast:
        args.append("--fast")
    if base_port:
        args += ["--base-port", str(base_port)]
    server = Server(shlex.join(args), host="127.0.0.1", port=port, title="redislab")
    server.serve()


@main.command("quick")
def quick_cmd() -> None:
    """Three bare engine nodes and how to use them from other terminals (no TUI)."""
    from .quicklab import run_quick_lab

    sys.exit(run_quick_lab())
