"""The ``redislab`` command line."""

from __future__ import annotations

import os
import sys

import click

from . import __version__


def _redis_style_config(args: tuple[str, ...]) -> tuple[str | None, bool, str]:
    """Split redis-server style arguments into (config file, read stdin, options text).

    ``redislab server [redis.conf] [--directive value ...] [-]``, parsed as redis-server's
    ``main`` does: every ``--name`` starts a new line, the words after it are appended
    quoted (``sdscatrepr``), and the text is read after the file (and stdin).
    """
    from .engine.config import repr_text
    from .engine.resp import split_args

    argv = list(args)
    conffile = None
    j = 0
    if argv and not argv[0].startswith("-"):
        conffile = argv[0]
        j = 1
    from_stdin = False
    options = ""
    handled_last = True
    n = len(argv)
    while j < n:
        word = argv[j]
        if word == "-" and (j == 0 or j == n - 1):
            from_stdin = True
        elif handled_last and word.startswith("--"):
            if options:
                options += "\n"
            options += word[2:] + " "
            parts = split_args(word.encode("utf-8", "surrogateescape")) or []
            if len(parts) == 1:
                handled_last = False
                nxt = argv[j + 1] if j != n - 1 else None
                if nxt is not None and nxt.startswith("--") and word.lower() == "--save":
                    options += '""'
                    handled_last = True
                elif nxt is None and word.lower() == "--save":
                    options += '""'
                elif nxt is not None and nxt.startswith("--") and word.lower() == "--sentinel":
                    handled_last = True
            else:
                handled_last = True
        else:
            options += repr_text(word) + " "
            handled_last = True
        j += 1
    return conffile, from_stdin, options


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="redislab")
@click.option("--backend", "-b", type=click.Choice(["engine", "process", "docker"]),
              default="engine", show_default=True, help="backend chosen at start (TUI)")
@click.option("--lang", type=click.Choice(["en", "zh"]),
              help="lesson language (default: from the locale)")
@click.option("--fast", is_flag=True,
              help="no 5 s wait before full syncs (repl-diskless-sync-delay 0)")
@click.option("--base-port", type=int,
              help="first port of the labs (default: the topology's, or the next free block)")
@click.pass_context
def main(ctx: click.Context, backend: str, lang: str | None, fast: bool,
         base_port: int | None) -> None:
    """redislab: learn Redis replication, Sentinel and Cluster on live nodes.

    With no command, opens the lab (a terminal UI): lessons, a sandbox, live panes.
    """
    if ctx.invoked_subcommand is None:
        from .tui import run

        sys.exit(run(backend=backend, lang=lang, fast=fast, base_port=base_port))


@main.command(
    "server",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                      "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def server_cmd(args: tuple[str, ...]) -> None:
    """Run a built-in engine node: redislab server [redis.conf] [--directive value ...].

    Takes redis-server's arguments, so it can stand in for redis-server anywhere.
    """
    if args and args[0] in ("-h", "--help"):
        click.echo(
            "Usage: redislab server [/path/to/redis.conf] [options] [-]\n"
            "       redislab server - (read config from stdin)\n"
            "       redislab server -v or --version\n"
            "       redislab server -h or --help\n\n"
            "Examples:\n"
            "       redislab server (run the server with default conf)\n"
            "       redislab server /etc/redis/6379.conf\n"
            "       redislab server --port 7777\n"
            "       redislab server --port 7777 --replicaof 127.0.0.1 8888\n"
            "       redislab server /etc/myredis.conf --loglevel verbose -\n"
            "       redislab server /etc/myredis.conf --loglevel verbose\n"
        )
        return
    if args and args[0] in ("-v", "--version"):
        from .engine.config import REDIS_VERSION

        click.echo(f"Redis server v={REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 "
                   f"build=redislab-{__version__}")
        return
    sys.exit(run_server(args))


@main.command(
    "sentinel",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                      "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sentinel_cmd(args: tuple[str, ...]) -> None:
    """Run a built-in engine sentinel: redislab sentinel sentinel.conf [--directive value ...].

    Takes redis-sentinel's arguments, so it can stand in for redis-sentinel anywhere.
    """
    if args and args[0] in ("-h", "--help"):
        click.echo(
            "Usage: redislab sentinel /path/to/sentinel.conf [options]\n"
            "       redislab sentinel -v or --version\n"
            "       redislab sentinel -h or --help\n\n"
            "Examples:\n"
            "       redislab sentinel /etc/sentinel.conf\n"
            "       redislab sentinel /etc/sentinel.conf --port 26380\n"
            "       redislab server /etc/sentinel.conf --sentinel\n"
        )
        return
    if args and args[0] in ("-v", "--version"):
        from .engine.config import REDIS_VERSION

        click.echo(f"Redis server v={REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 "
                   f"build=redislab-{__version__}")
        return
    sys.exit(run_server(args, sentinel=True))


def _supervised(mode: str) -> bool:
    """Redis' ``redisIsSupervised``: systemd / upstart detected from the environment."""
    if mode in ("systemd", "auto") and os.environ.get("NOTIFY_SOCKET"):
        return True
    if mode in ("upstart", "auto") and os.environ.get("UPSTART_JOB"):
        return True
    return False


def _daemonize() -> None:
    """Fork to the background as Redis' ``daemonize()``: the parent exits, the child starts
    a new session with stdin/stdout/stderr on /dev/null."""
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def run_server(args: tuple[str, ...], sentinel: bool = False) -> int:
    from .engine.config import REDIS_VERSION, Config, ConfigFileError
    from .engine.log import Logger

    conffile, from_stdin, extra = _redis_style_config(args)
    config = Config()
    config.sentinel_mode = sentinel or any(a.lower() == "--sentinel" for a in args)
    role = "X" if config.sentinel_mode else "C"
    if config.sentinel_mode:
        from .engine import sentinel as sentinel_mod

        sentinel_mod.prepare_config(config)
    try:
        stdin_text = sys.stdin.read() if from_stdin else None
        if from_stdin:
            Logger(config["logfile"], config["loglevel"], role=lambda: role).warning(
                "Reading config from stdin")
        config.load_file(conffile, extra, stdin_text)
        if config.sentinel_mode:
            sentinel_mod.load_state(config, stdin_text, extra)
    except ConfigFileError as exc:
        if exc.as_log:
            Logger(config["logfile"], config["loglevel"], role=lambda: role).warning(exc.message)
        else:
            sys.stderr.write(exc.report())
            sys.stderr.flush()
        return 1
    if config.sentinel_mode:
        problem = sentinel_mod.check_config_file(config)
        if problem:
            Logger(config["logfile"], config["loglevel"], role=lambda: "X").warning(problem)
            return 1
    supervised = _supervised(config["supervised"])
    if config["daemonize"] and not supervised:
        _daemonize()
    from .engine import server as srv_mod

    boot = Logger(config["logfile"], config["loglevel"], role=lambda: role)
    boot.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    boot.warning(
        f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, "
        f"pid={os.getpid()}, just started"
    )
    if not args:
        boot.warning(
            "Warning: no config file specified, using the default config. In order to specify "
            "a config file use redislab server /path/to/redis.conf"
        )
    else:
        boot.warning("Configuration loaded")
    boot.set_file("")
    return srv_mod.run(config, supervised=supervised)


from . import cli_lab  # noqa: E402,F401  (registers up/status/exec/logs/down/export/image)
from . import cli_lesson  # noqa: E402,F401  (registers lesson list/validate/run)
from . import cli_tui  # noqa: E402,F401  (registers cli/serve/quick)

if __name__ == "__main__":  # pragma: no cover
    main()
