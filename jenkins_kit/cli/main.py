"""The `jenkins-kit` entry point: one place that turns errors into advice and an exit code."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from jenkins_kit import __version__
from jenkins_kit.cli.output import err_console
from jenkins_kit.errors import ConfigError, KitError

# Each module defines `register(group)`. Listed here so `--help` order is stable.
_COMMAND_MODULES = [
    "jenkins_kit.cli.init_cmd",
    "jenkins_kit.cli.config_cmd",
    "jenkins_kit.cli.render_cmd",
    "jenkins_kit.cli.cluster",
    "jenkins_kit.cli.nfs",
    "jenkins_kit.cli.backup",
    "jenkins_kit.cli.jobs",
    "jenkins_kit.cli.builds",
]


class _Root(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigError as e:
            err_console().print(f"[bold red]error:[/] invalid config ({len(e.problems)} problem{'s' if len(e.problems) != 1 else ''})", highlight=False)
            for p in e.problems:
                err_console().print(p.format(), markup=False, highlight=False)
            ctx.exit(e.exit_code)
        except KitError as e:
            err_console().print("[bold red]error:[/] ", end="", highlight=False)
            err_console().print(e.message, markup=False, highlight=False)
            if e.hint:
                err_console().print(f"  hint: {e.hint}", markup=False, highlight=False, style="yellow")
            ctx.exit(e.exit_code)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="jenkins-kit")
def cli() -> None:
    """Bootstrap Jenkins on a lab Kubernetes cluster and keep it in step with your repositories.

    \b
    Typical flow:
      jenkins-kit init                      write a starter jenkins-kit.yaml
      jenkins-kit config validate           check it (errors name file:line:col and a fix)
      jenkins-kit render --out bundle/      everything Jenkins and Kubernetes will receive, offline
      jenkins-kit plan / up / down          the cluster side
      jenkins-kit jobs plan / jobs apply    jobs generated from your repositories
      jenkins-kit build JOB -s -v           trigger a build, stream it, exit with its result

    Jenkins credentials come from JENKINS_URL, JENKINS_USER_ID and JENKINS_API_TOKEN (as jenkins-cli),
    never from the command line.
    """


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(cli)


_load_commands()


def main() -> None:
    cli.main(prog_name="jenkins-kit")


if __name__ == "__main__":
    sys.exit(main())
