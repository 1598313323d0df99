"""`jenkins-kit config validate|show`."""

from __future__ import annotations

import click

from jenkins_kit.cli.output import config_option, console, output_option, plural, print_json
from jenkins_kit.config import load_config


@click.group("config")
def config_group() -> None:
    """Check and inspect the lab config.

    \b
    Examples:
      jenkins-kit config validate -c lab.yaml
      jenkins-kit config show -o json
    """


@config_group.command("validate")
@config_option
@output_option
def validate_cmd(config_path: str, as_json: bool) -> None:
    """Check a config. Exit 0 if valid; exit 16 with file:line:column, field and a fix otherwise.

    \b
    Examples:
      jenkins-kit config validate
      jenkins-kit config validate -c lab.yaml -o json
    """
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
        console().print(f"{config_path}: valid ({plural(len(cfg.repositories), 'repository')})", markup=False)


@config_group.command("show")
@config_option
@output_option(formats=("yaml", "json"))
def show_cmd(config_path: str, as_json: bool) -> None:
    """Print the config with every default filled in.

    \b
    Examples:
      jenkins-kit config show                    YAML, every default spelled out
      jenkins-kit config show -o json | jq .nfs
    """
    data = load_config(config_path).model_dump(mode="json")
    if as_json:
        print_json(data)
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def register(group: click.Group) -> None:
    group.add_command(config_group)
