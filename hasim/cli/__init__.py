"""The ``hasim`` command: a click group whose subcommands live one per module and load lazily.

Lazy loading keeps ``hasim decode`` free of SimPy/NumPy start-up cost and lets each command own
its module. Bad input (DecodeError, ConfigError, ProtocolError, OSError) becomes one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from hasim import __version__
from hasim.errors import ConfigError, DecodeError, ProtocolError

# command name -> (module, attribute); a command appears once its module exists.
COMMANDS: dict[str, tuple[str, str]] = {
    "decode": ("hasim.cli.decode", "decode"),
    "run": ("hasim.cli.run", "run"),
    "sweep": ("hasim.cli.sweep", "sweep"),
    "plot": ("hasim.cli.plot", "plot"),
    "report": ("hasim.cli.report", "report"),
    "advise": ("hasim.cli.advise", "advise"),
    "interop": ("hasim.cli.interop", "interop"),
    "examples": ("hasim.cli.examples", "examples"),
    "explore": ("hasim.cli.explore", "explore"),
}

# One convention for every command: -h and --help, inherited by each subcommand's context.
CONTEXT = {"help_option_names": ["-h", "--help"]}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        mod_name, attr = COMMANDS[cmd_name]
        if importlib.util.find_spec(mod_name) is None:
            return None
        command = getattr(importlib.import_module(mod_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="hasim")
def cli() -> None:
    """hasim: simulate IKEv2/IPsec hot-standby cluster failover with RFC 6311."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the group and turn bad input into one clear line and exit code 2."""
    try:
        return cli.main(args=argv, prog_name="hasim", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("hasim: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see {exc.ctx.command_path} -h)" if exc.ctx is not None else ""
        click.echo(f"hasim: error: {one_line(exc.format_message())}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"hasim: error: {one_line(exc.format_message())}", err=True)
        sys.exit(2)
    except (DecodeError, ConfigError, ProtocolError, OSError) as exc:
        click.echo(f"hasim: error: {one_line(str(exc))}", err=True)
        sys.exit(2)


def one_line(text: str) -> str:
    """An error message on one line whatever it quotes (a key or value with a newline in it)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
