"""`jenkins-kit nfs export`: prepare the NFS host (run as root there)."""

from __future__ import annotations

import click

from jenkins_kit.cli.output import config_option, console, output_option, print_json

_STYLE = {"done": "green", "would": "cyan", "unchanged": "dim", "skipped": "yellow", "warn": "yellow"}


@click.group("nfs")
def nfs_group() -> None:
    """The NFS server side of Jenkins' home.

    \b
    Examples:
      sudo jenkins-kit nfs export --dry-run
    """


@nfs_group.command("export")
@config_option
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Treat this folder as / (tests, chroots): the export folder and etc/exports live under it.")
@click.option("--exports-file", type=click.Path(dir_okay=False), default=None,
              help="The exports file to edit (default: /etc/exports, or ROOT/etc/exports with --root).")
@click.option("--no-reload", is_flag=True, help="Do not run 'exportfs -ra' afterwards.")
@click.option("--chown-recursive", is_flag=True,
              help="Also chown everything already inside the folder (default: only the folder itself).")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@output_option
def export_cmd(config_path: str, root: str | None, exports_file: str | None, no_reload: bool,
               chown_recursive: bool, dry_run: bool, as_json: bool) -> None:
    """Create the export folder owned by nfs.uid:gid, add or update its one line in the exports
    file (keeping every other line, with a backup) and reload with 'exportfs -ra'. Idempotent.

    \b
    Examples:
      sudo jenkins-kit nfs export --dry-run      show what would change
      sudo jenkins-kit nfs export
    """
    from jenkins_kit.config import load_config
    from jenkins_kit.nfs import export

    cfg = load_config(config_path)
    result = export(cfg, root=root, exports_file=exports_file, reload=not no_reload,
                    chown_recursive=chown_recursive, dry_run=dry_run)
    if as_json:
        print_json({**result.to_json(), "dry_run": dry_run})
        return
    out = console()
    for s in result.steps:
        out.print(f"[{_STYLE.get(s.status, 'white')}]{s.status:<9}[/] {s.name:<15} ", end="", highlight=False)
        out.print(s.detail, markup=False, highlight=False)
    out.print(("would change" if dry_run and result.changed else "changed" if result.changed else "no changes") + f": {result.line}",
              markup=False, highlight=False)


def register(group: click.Group) -> None:
    group.add_command(nfs_group)
