"""`jenkins-kit backup`, `backup verify ARCHIVE`, `restore ARCHIVE`: run on the NFS host (docs/backup.md)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from jenkins_kit.cli.output import config_option, console, err_console, output_option, print_json
from jenkins_kit.errors import ExitCode, KitError

_STYLE = {"done": "green", "unchanged": "dim", "skipped": "yellow", "warn": "yellow", "failed": "red"}


class Interrupted(KitError):
    exit_code = ExitCode.INTERRUPTED


@contextmanager
def _interruptible(what: str) -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C; both end in a clear message after the cleanups have run."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        previous = None
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(f"{what} interrupted; {_CLEANUP[what]}") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_CLEANUP = {
    "backup": "the partial archive was removed and Jenkins' quiet-down lifted",
    "restore": "the staging folder was removed; the target is as it was",
    "verify": "nothing was changed",
}


def _line(status: str, step: str, detail: str) -> None:
    out = console()
    out.print(f"[{_STYLE.get(status, 'white')}]{status:<9}[/] {step:<12} ", end="", highlight=False)
    out.print(detail, markup=False, highlight=False)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@contextmanager
def _progress(show: bool, label: str) -> Iterator[Callable[[int, int, str], None] | None]:
    """A byte progress bar on stderr when it is a terminal (and not --json)."""
    if not (show and err_console().is_terminal):
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    with Progress(TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                  console=err_console(), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, _name: str) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def _load(config_path: str, required: bool) -> Any:
    ctx = click.get_current_context()
    explicit = ctx.get_parameter_source("config_path") not in (click.core.ParameterSource.DEFAULT, None)
    if Path(config_path).is_file():
        from jenkins_kit.config import load_config

        return load_config(config_path)
    if required or explicit:
        raise KitError(f"config file {config_path} does not exist",
                       "give the lab config with --config (its nfs.path is the Jenkins home), or name the folder with --home")
    return None


def _home(cfg: Any, root: str | None, home: str | None) -> Path:
    if home:
        return Path(home)
    return Path(root or "/") / cfg.nfs.path.lstrip("/")


# ---------------------------------------------------------------------------------------- backup


@click.group("backup", invoke_without_command=True)
@config_option(help="Lab config: nfs.path is the Jenkins home; jenkins.url/admin are used to quiesce Jenkins "
                    "(JENKINS_URL, JENKINS_USER_ID, JENKINS_API_TOKEN take precedence).")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Treat this folder as / (tests, chroots): the export folder and the default --dest live under it.")
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="The Jenkins home to back up (default: nfs.path from the config).")
@click.option("--dest", type=click.Path(file_okay=False), default=None,
              help="Folder for the archives (default: /var/backups/jenkins-kit, created mode 0700).")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=600.0, show_default=True, metavar="SEC",
              help="How long to wait for running builds after quieting Jenkins down.")
@click.option("--on-timeout", type=click.Choice(["refuse", "proceed"]), default="refuse", show_default=True,
              help="When builds still run after --wait: refuse (exit 10, nothing written) or back up anyway.")
@click.option("--no-quiesce", is_flag=True,
              help="Do not contact Jenkins (it is stopped); versions and plugins are then read from the home.")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Leave out this path too (relative to the home; '*' one segment, '**' any, trailing '/' folders). Repeatable.")
@click.option("--no-default-excludes", is_flag=True, help="Archive workspaces, caches, war/ and unpacked plugins too.")
@click.option("--keep", type=click.IntRange(min=1), default=None, metavar="N",
              help="Afterwards delete all but the N newest archives jenkins-kit wrote in --dest (others are never touched).")
@output_option
@click.pass_context
def backup_group(ctx: click.Context, config_path: str, root: str | None, home: str | None, dest: str | None, wait_s: float,
                 on_timeout: str, no_quiesce: bool, excludes: tuple[str, ...], no_default_excludes: bool, keep: int | None,
                 as_json: bool) -> None:
    """Back up Jenkins' home into a compressed archive, with Jenkins quieted down meanwhile.

    \b
    Run on the NFS server, as root (like 'nfs export'):
      jenkins-kit backup --keep 7
      jenkins-kit backup verify /var/backups/jenkins-kit/jenkins-kit-backup-<time>.tar.gz
      jenkins-kit restore ARCHIVE          (then: jenkins-kit up)

    Quiets Jenkins down (POST /quietDown), waits up to --wait for running builds, writes
    jenkins-kit-backup-<UTC time>.tar.gz atomically (owners, modes, symlinks, a manifest with
    versions, plugins and sha256 of every file), then lifts the quiet-down, also on failure or Ctrl-C.

    \b
    Examples:
      sudo jenkins-kit backup --dest /srv/backups
      sudo jenkins-kit backup verify /srv/backups/jenkins-home-*.tar.zst -o json
    """
    if ctx.invoked_subcommand is not None:
        return
    from jenkins_kit.backup import DEFAULT_DEST, DEFAULT_EXCLUDES, backup

    cfg = _load(config_path, required=home is None)
    home_p = _home(cfg, root, home)
    dest_p = Path(dest) if dest else Path(root or "/") / DEFAULT_DEST.lstrip("/")
    client = None
    if not no_quiesce:
        from jenkins_kit.jenkins.client import JenkinsClient
        from jenkins_kit.jenkins.settings import JenkinsSettings

        client = JenkinsClient(JenkinsSettings.resolve(config=cfg))

    def on_wait(running: list[str], left: float) -> None:
        if not as_json:
            err_console().print(f"waiting for {len(running)} running build(s) ({left:.0f}s left): {', '.join(running[:3])}",
                                markup=False, highlight=False, style="dim")

    patterns = (() if no_default_excludes else DEFAULT_EXCLUDES) + tuple(excludes)
    with _interruptible("backup"), _progress(not as_json, "backup") as progress:
        try:
            result = backup(home_p, dest_p, client=client, wait_s=wait_s, on_timeout=on_timeout,  # type: ignore[arg-type]
                            excludes=patterns, keep=keep, progress=progress, on_wait=on_wait,
                            owner=(cfg.nfs.uid, cfg.nfs.gid) if cfg is not None else (1000, 1000))
        finally:
            if client is not None:
                client.close()
    if as_json:
        print_json(result.to_json())
        return
    q = result.jenkins
    if q is None:
        _line("skipped", "quiet-down", "--no-quiesce: Jenkins was not contacted (it must be stopped)")
    else:
        how = "was already quieting down (left as found)" if q.was_quieting else "quieted down, then lifted"
        run = f"waited {q.waited_s:.1f}s for {len(q.running_at_start)} build(s)" if q.running_at_start else "no build running"
        _line("warn" if q.still_running else "done", "quiet-down", f"Jenkins {q.jenkins_version} at {q.url}: {how}; {run}"
              + (f"; still running: {', '.join(q.still_running)}" if q.still_running else ""))
    m = result.manifest
    _line("done", "archive", f"{result.archive} ({_size(result.size)}; {m['file_count']} files, {_size(m['total_bytes'])} "
          f"read, {len(m.get('plugins') or [])} plugins; {result.seconds:.1f}s)")
    if result.excluded:
        shown = ", ".join(result.excluded[:5]) + (f" and {len(result.excluded) - 5} more" if len(result.excluded) > 5 else "")
        _line("skipped", "excluded", shown)
    for w in result.warnings + [f"{s}: not a file, folder or link; not archived" for s in result.skipped]:
        _line("warn", "warning", w)
    if keep is not None:
        _line("done" if result.deleted else "unchanged", "retention",
              f"kept the {keep} newest; deleted {len(result.deleted)}" + (f": {', '.join(result.deleted)}" if result.deleted else ""))
        if result.not_ours:
            _line("warn", "retention", f"left alone (name matches, content not a jenkins-kit archive): {', '.join(result.not_ours)}")


@backup_group.command("verify")
@click.argument("archive", type=click.Path(dir_okay=False))
@output_option
def verify_cmd(archive: str, as_json: bool) -> None:
    """Check an archive: every file's sha256 against the manifest, counts, and that a restore would accept it.

    \b
    Examples:
      jenkins-kit backup verify /srv/backups/jenkins-home-20261129.tar.zst
    """
    from jenkins_kit.backup import verify

    with _interruptible("verify"), _progress(not as_json, "verify") as progress:
        v = verify(archive, progress=progress)
    if as_json:
        print_json(v.to_json())
    else:
        m = v.manifest or {}
        if v.ok:
            _line("done", "verify", f"{archive}: {m.get('file_count')} files match the manifest "
                  f"(created {m.get('created')}, Jenkins {m.get('jenkins_version')}, {len(m.get('plugins') or [])} plugins)")
        else:
            _line("failed", "verify", f"{archive}: {len(v.problems)} problem(s)")
            for p in v.problems[:50]:
                console().print(f"  {p}", markup=False, highlight=False)
    if not v.ok:
        raise click.exceptions.Exit(ExitCode.ERROR)


# ---------------------------------------------------------------------------------------- restore


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@config_option(help="Lab config: nfs.path is the folder restored into (unless --target).")
@click.option("--root", type=click.Path(file_okay=False), default=None, help="Treat this folder as / (tests, chroots).")
@click.option("--target", type=click.Path(file_okay=False), default=None,
              help="Restore into this folder instead of nfs.path.")
@click.option("--force", is_flag=True,
              help="Restore into a non-empty target: its contents are first moved aside to <target>.pre-restore-<time>.")
@click.option("--dry-run", is_flag=True, help="Check the archive and list what would be written; write nothing.")
@output_option
def restore_cmd(archive: str, config_path: str, root: str | None, target: str | None, force: bool, dry_run: bool,
                as_json: bool) -> None:
    """Restore a backup into the (empty) export directory, owners included when run as root.

    The archive is checked whole first (checksums; no absolute names, '..', links leading out,
    devices): any problem refuses it with nothing written. Stop Jenkins first ('jenkins-kit down'
    keeps the volume); start it again with 'jenkins-kit up'.

    \b
    Examples:
      sudo jenkins-kit restore /srv/backups/jenkins-home-20261129.tar.zst
    """
    from jenkins_kit.backup import restore

    cfg = _load(config_path, required=target is None)
    target_p = _home(cfg, root, target)
    with _interruptible("restore"), _progress(not as_json, "checking") as progress:
        result = restore(archive, target_p, force=force, dry_run=dry_run, progress=progress)
    if as_json:
        print_json(result.to_json())
        return
    if dry_run:
        for e in result.entries:
            d = e.to_json()
            extra = f" -> {d['target']}" if "target" in d else f" {d['size']} B" if "size" in d else ""
            console().print(f"would write {d['type']:<8} {d['mode']} {d['owner']:<11} {d['path']}{extra}", markup=False, highlight=False)
        _line("skipped", "restore", f"dry run: {len(result.entries)} entries into {result.target}; nothing written")
        return
    if result.moved_aside:
        _line("done", "moved aside", f"the previous contents of {result.target} are in {result.moved_aside}")
    files = sum(1 for e in result.entries if e.kind == "f")
    _line("done", "restore", f"{files} files ({len(result.entries)} entries) from {archive} into {result.target}"
          + (" with their owners" if result.chowned else ""))
    for w in result.warnings:
        _line("warn", "warning", w)
    console().print(f"next: {result.next_step}  (start Jenkins on the restored home)", markup=False, highlight=False)


def register(group: click.Group) -> None:
    group.add_command(backup_group)
    group.add_command(restore_cmd)
