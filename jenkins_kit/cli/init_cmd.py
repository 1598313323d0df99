"""`jenkins-kit init`: write a commented starter config for the seed's lab."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import click

from jenkins_kit.cli.output import console
from jenkins_kit.errors import KitError


def starter_text() -> str:
    return files("jenkins_kit.config").joinpath("starter.yaml").read_text(encoding="utf-8")


@click.command("init")
@click.argument("path", default="jenkins-kit.yaml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_cmd(path: str, force: bool) -> None:
    """Write a commented starter config to PATH (default ./jenkins-kit.yaml).

    The starter describes the textbook lab: control-plane node m-k8s, NFS 192.168.1.10:/nfs_shared/jenkins,
    registry 192.168.1.10:8443 and a MetalLB range 192.168.1.11-192.168.1.29. Edit it, then run
    `jenkins-kit config validate`.

    \b
    Examples:
      jenkins-kit init
      jenkins-kit init lab.yaml --force
    """
    p = Path(path)
    if p.exists() and not force:
        raise KitError(f"{p} already exists", "pass --force to overwrite it, or choose another path")
    p.write_text(starter_text(), encoding="utf-8")
    console().print(f"wrote {p}; next: jenkins-kit config validate --config {p}")


def register(group: click.Group) -> None:
    group.add_command(init_cmd)
