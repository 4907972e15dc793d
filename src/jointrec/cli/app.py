"""The ``jointrec`` command: one sub-command per module, thin shells over the library."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
import typer
from typer.core import TyperGroup

from jointrec.errors import JointrecError

try:  # typer >= 0.20 vendors its own copy of click: catch both copies' exceptions
    from typer._click import exceptions as _vendored

    _USAGE: tuple[type[Exception], ...] = (click.UsageError, _vendored.UsageError)
    _CLICK: tuple[type[Exception], ...] = (click.ClickException, _vendored.ClickException)
except ImportError:  # pragma: no cover - older typer uses click itself
    _USAGE, _CLICK = (click.UsageError,), (click.ClickException,)
_ABORT: tuple[type[BaseException], ...] = (click.Abort, typer.Abort)


class OneLineErrors(TyperGroup):
    """Prints bad input as one ``error: ...`` line and exits non-zero, never a traceback."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(
                args=args,
                prog_name=prog_name or "jointrec",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except _USAGE as err:
            where = f" ({err.ctx.command_path})" if err.ctx is not None else ""
            typer.echo(f"error{where}: {err.format_message()}", err=True)
            sys.exit(2)
        except JointrecError as err:
            typer.echo(f"error: {err}", err=True)
            sys.exit(1)
        except _CLICK as err:
            typer.echo(f"error: {err.format_message()}", err=True)
            sys.exit(err.exit_code)
        except _ABORT:
            typer.echo("aborted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    name="jointrec",
    help="One model for retrieval and ranking: train, compare, evaluate and recommend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    """Adds every command module of `jointrec.cli`: a module with ``command`` (and ``NAME``,
    ``HELP``, optional ``ORDER``) becomes a command; one with a typer ``app`` a group."""
    import importlib
    import pkgutil

    import jointrec.cli as package

    modules = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in {"app", "options", "render"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"jointrec.cli.{info.name}")
        if hasattr(module, "command") or isinstance(getattr(module, "app", None), typer.Typer):
            modules.append(module)
    modules.sort(key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
    for module in modules:
        name = getattr(module, "NAME", module.__name__.rsplit(".", 1)[-1])
        if hasattr(module, "command"):
            app.command(name=name, help=getattr(module, "HELP", None))(module.command)
        else:
            app.add_typer(module.app, name=name)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    app(args=list(argv) if argv is not None else None)
