"""Console helpers shared by the commands (stdout for results, stderr for progress and errors)."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any

from rich.console import Console


@lru_cache(maxsize=None)
def _console(stderr: bool) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def console() -> Console:
    return _console(False)


def err_console() -> Console:
    return _console(True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def config_option(f: Any = None, *, help: str = "Lab config file (env JENKINS_KIT_CONFIG).") -> Any:  # noqa: A002
    """The shared `--config/-c` option: `@config_option`, or `@config_option(help=...)`."""
    import click

    option = click.option(
        "--config",
        "-c",
        "config_path",
        default="jenkins-kit.yaml",
        show_default=True,
        envvar="JENKINS_KIT_CONFIG",
        type=click.Path(dir_okay=False),
        help=help,
    )
    return option(f) if f is not None else option
