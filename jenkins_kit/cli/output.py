"""Console helpers shared by the commands (stdout for results, stderr for progress and errors)."""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@lru_cache(maxsize=None)
def _console(stderr: bool) -> Console:
    # Imported on first use: rich is ~15 ms of start-up that a command printing plain lines
    # (`jobs render`, `jobs apply` off a terminal, --version) never needs.
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def console() -> Console:
    return _console(False)


def is_terminal(stderr: bool = False) -> bool:
    """What `Console.is_terminal` answers, without importing rich when the answer is "no" (a log, a
    pipe): that is when a command prints plain text and never needs rich. rich is asked whenever it
    could answer otherwise: the stream is a tty (rich still says no under IDLE or Jupyter), or an
    environment variable rich reads (FORCE_COLOR, TTY_COMPATIBLE) forces the answer."""
    if "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ:
        return _console(stderr).is_terminal
    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False
    return tty and _console(stderr).is_terminal


def err_console() -> Console:
    return _console(True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def config_option(f: Any = None, *, help: str = "Lab config file (env JENKINS_KIT_CONFIG).", short: bool = True) -> Any:  # noqa: A002
    """The shared `--config/-c` option: `@config_option`, or `@config_option(help=...)`.

    `short=False` leaves `-c` out (`build`, where jenkins-cli's -c means "check SCM changes")."""
    import click

    names = ["--config", "-c"] if short else ["--config"]
    option = click.option(
        *names,
        "config_path",
        default="jenkins-kit.yaml",
        show_default=True,
        envvar="JENKINS_KIT_CONFIG",
        type=click.Path(dir_okay=False),
        help=help,
    )
    return option(f) if f is not None else option


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 repository", "2 repositories", "0 problems"."""
    if n == 1:
        return f"{n} {word}"
    if many is None:
        many = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    return f"{n} {many}"


def print_error(message: str, hint: str | None = None) -> None:
    """`error: ...` and `  hint: ...` on stderr; the text is never read as rich markup."""
    c = err_console()
    c.print("[bold red]error:[/] ", end="", highlight=False)
    c.print(message, markup=False, highlight=False)
    if hint:
        c.print(f"  hint: {hint}", markup=False, highlight=False, style="yellow")


def output_option(f: Any = None, *, formats: tuple[str, ...] = ("text", "json"), help: str | None = None) -> Any:  # noqa: A002
    """The shared `-o/--output FORMAT` option (kubectl's spelling); the callback receives `as_json`.

    `--json` stays as a hidden alias of `-o json` for scripts written before the option existed.
    """
    import functools

    import click

    def decorate(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, output: str, json_alias: bool, **kwargs: Any) -> Any:
            return fn(*args, as_json=json_alias or output == "json", **kwargs)

        wrapper = click.option("--json", "json_alias", is_flag=True, hidden=True, help="Same as -o json.")(wrapper)
        return click.option(
            "-o", "--output", type=click.Choice(formats), default=formats[0], show_default=True,
            help=help or f"Output format: {' or '.join(formats)} (json is for scripts; its fields are stable).",
        )(wrapper)

    return decorate(f) if f is not None else decorate
