"""The ``redislab`` command line."""

from __future__ import annotations

import os
import sys

import click

from . import __version__


def _redis_style_config(args: tuple[str, ...]) -> tuple[str | None, str]:
    """Split redis-server style arguments into (config file, extra config text).

    ``redislab server [redis.conf] [--directive value ...]``: every ``--name`` starts a new
    line, the words after it are its arguments (quoted so empty strings survive), and the
    resulting text is read after the file, exactly as redis-server does.
    """
    args = list(args)
    conffile = None
    if args and not args[0].startswith("--"):
        conffile = args.pop(0)
    lines: list[str] = []
    for word in args:
        if word.startswith("--") and len(word) > 2:
            lines.append(word[2:])
        elif not lines:
            raise click.UsageError(f"unexpected argument {word!r} (options start with --)")
        else:
            lines[-1] += " " + _quote(word)
    return conffile, "\n".join(lines)


def _quote(word: str) -> str:
    if word and not any(ch in word for ch in " \t\"'\\\n\r"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="redislab")
@click.pass_context
def main(ctx: click.Context) -> None:
    """redislab: learn Redis replication, Sentinel and Cluster on live nodes.

    With no command, starts a three-node lab on the built-in engine and shows how to use it.
    """
    if ctx.invoked_subcommand is None:
        from .quicklab import run_quick_lab

        sys.exit(run_quick_lab())


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


def run_server(args: tuple[str, ...], sentinel: bool = False) -> int:
    from .engine.config import Config, ConfigFileError
    from .engine.log import Logger

    conffile, extra = _redis_style_config(args)
    stdin_text = ""
    if conffile == "-":
        conffile = None
        stdin_text = sys.stdin.read()
    config = Config()
    try:
        if conffile:
            config.load_file(conffile, extra)
        else:
            config.load_text(stdin_text + "\n" + extra)
    except ConfigFileError as exc:
        sys.stderr.write(exc.report())
        return 1
    from .engine import server as srv_mod
    from .engine.config import REDIS_VERSION

    boot = Logger(config["logfile"], config["loglevel"], role=lambda: "C")
    boot.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    boot.warning(
        f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, "
        f"pid={os.getpid()}, just started"
    )
    if conffile:
        boot.warning("Configuration loaded")
    else:
        boot.warning(
            "Warning: no config file specified, using the default config. In order to specify "
            "a config file use redislab server /path/to/redis.conf"
        )
    boot.set_file("")
    if sentinel or "--sentinel" in args:
        click.echo("redislab: Sentinel mode is not in this version of the engine yet.", err=True)
        return 1
    return srv_mod.run(config)


if __name__ == "__main__":  # pragma: no cover
    main()
