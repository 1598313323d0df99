"""`jenkins-kit config validate|show`."""

from __future__ import annotations

import click

from jenkins_kit.cli.output import config_option, console, print_json
from jenkins_kit.config import load_config


@click.group("config")
def config_group() -> None:
    """Check and inspect the lab config."""


@config_group.command("validate")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def validate_cmd(config_path: str, as_json: bool) -> None:
    """Check a config. Exit 0 if valid; exit 2 with file:line:column, field and a fix otherwise."""
    from jenkins_kit.errors import ConfigError
    from jenkins_kit.render.check import check_config

    try:
        cfg = check_config(config_path)[0].config
    except ConfigError as e:
        if not as_json:
            raise
        print_json({"valid": False, "problems": [p.__dict__ for p in e.problems]})
        raise click.exceptions.Exit(e.exit_code) from None
    if as_json:
        print_json({"valid": True, "file": config_path, "repositories": len(cfg.repositories)})
    else:
        console().print(f"{config_path}: valid ({len(cfg.repositories)} repositories)")


@config_group.command("show")
@config_option
def show_cmd(config_path: str) -> None:
    """Print the config with every default filled in, as JSON."""
    print_json(load_config(config_path).model_dump(mode="json"))


def register(group: click.Group) -> None:
    group.add_command(config_group)
