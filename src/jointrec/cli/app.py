"""The ``jointrec`` command: one sub-command per module, thin shells over the library."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from jointrec.errors import JointrecError


class OneLineErrors(TyperGroup):
    """Prints bad input as one ``error: ...`` line and exits non-zero, never a traceback."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(
                args=args,
                prog_name=prog_name or "jointrec",
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except JointrecError as err:
            typer.echo(f"error: {err}", err=True)
            sys.exit(1)
        except ModuleNotFoundError as err:  # a dependency was uninstalled, or never was
            typer.echo(f"error: {missing_package(err)}", err=True)
            sys.exit(1)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(130)
        except typer.TyperException as err:  # usage errors: bad values, unknown options
            typer.echo(f"error: {_usage_message(err)}", err=True)
            sys.exit(int(getattr(err, "exit_code", 2)))
        sys.exit(code if isinstance(code, int) else 0)


#: Import name -> what to install, where the two differ.
INSTALL = {
    "faiss": "faiss-cpu",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "tensorflow": "'jointrec[bench]' (tensorflow-cpu, for benchmarks/reference_tutorial.py)",
}


def missing_package(err: ModuleNotFoundError) -> str:
    """One line naming the missing package and how to install it.

    Example:
        >>> missing_package(ModuleNotFoundError("No module named 'faiss'", name="faiss"))
        "this command needs the package 'faiss', which is not installed: pip install faiss-cpu (or reinstall jointrec: pip install -e .)"
    """  # noqa: E501
    name = (err.name or str(err)).split(".")[0]
    return (
        f"this command needs the package {name!r}, which is not installed: pip install "
        f"{INSTALL.get(name, name)} (or reinstall jointrec: pip install -e .)"
    )


def _usage_message(err: Exception) -> str:
    message = err.format_message() if hasattr(err, "format_message") else str(err)
    message = message.rstrip(".")
    cause = err.__cause__
    if cause is not None and hasattr(cause, "errors"):  # typer validates values with pydantic
        details = cause.errors()
        if details and "input" in details[0]:
            message += f" (got {details[0]['input']!r})"
    ctx = getattr(err, "ctx", None)
    if ctx is not None:
        message += f"; see '{ctx.command_path} --help'"
    return message


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
        if info.name in {"app", "settings", "render"} or info.name.startswith("_"):
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
