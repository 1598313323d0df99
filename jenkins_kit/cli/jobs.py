"""`jenkins-kit jobs discover|render|plan|apply`: jobs generated from repository metadata."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from jenkins_kit.cli.output import config_option, console, err_console, print_json
from jenkins_kit.errors import ExitCode, KitError

_STATE_STYLE = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "drifted": ("~", "magenta"),
    "adopt": ("~", "cyan"),
    "unchanged": ("=", "dim"),
    "orphaned": ("-", "red"),
    "foreign": ("!", "bold red"),
    "other": (".", "blue"),
}


@click.group("jobs")
def jobs_group() -> None:
    """Jenkins jobs generated from your repositories: discover metadata, render, plan, apply.

    \b
    Connection: JENKINS_URL (or --url, or jenkins.url in the config), JENKINS_USER_ID and
    JENKINS_API_TOKEN from the environment, never from the command line.
    """


def _load(config_path: str) -> tuple[Any, Path]:
    from jenkins_kit.config import load_config

    return load_config(config_path), Path(config_path).resolve().parent


def _desired(config_path: str) -> tuple[Any, list[Any]]:
    from jenkins_kit.render.jobs import render_jobs

    cfg, base = _load(config_path)
    return cfg, render_jobs(cfg, base_dir=base)


def _owner(cfg: Any) -> Any:
    from jenkins_kit.jenkins.jobs import owner_for

    return owner_for(cfg)


def _connection_options(f: Any) -> Any:
    opts = [
        click.option("--url", envvar=None, help="Jenkins root URL (default: JENKINS_URL, then jenkins.url in the config)."),
        click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate (prefer --ca-bundle)."),
        click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True), help="CA bundle for the controller's certificate."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True, help="Per-request timeout, seconds."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _client(cfg: Any, url: str | None, insecure: bool, ca_bundle: str | None, timeout: float) -> Any:
    from jenkins_kit.jenkins.client import JenkinsClient
    from jenkins_kit.jenkins.settings import JenkinsSettings

    return JenkinsClient(JenkinsSettings.resolve(url=url, config=cfg, insecure=insecure, ca_bundle=ca_bundle, timeout=timeout))


def _sync_options(f: Any) -> Any:
    opts = [
        click.option("--verify/--no-verify", default=None, help="Also fetch every managed config.xml to catch edits made in Jenkins "
                     "(default: on for plan, off for apply, which then trusts the ownership marker: one request when nothing changed)."),
        click.option("--adopt", is_flag=True, help="Take over jobs that exist but are not managed by jenkins-kit (default: never touched)."),
        click.option("--prune", type=click.Choice(["ignore", "disable", "delete"]), default="ignore", show_default=True,
                     help="What to do with jobs jenkins-kit manages that are no longer in the config (never touches other jobs)."),
        click.option("--workers", type=click.IntRange(1, 64), default=None, help="Parallel requests (default: jobs.workers, 8)."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts."),
        click.option("-v", "--verbose", is_flag=True, help="Also list unchanged jobs."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def print_plan(jp: Any, *, verbose: bool = False, show_diff: bool = True, out: Any = None) -> None:
    from rich.markup import escape
    from rich.syntax import Syntax

    c = out or console()
    for ch in jp.changes:
        if ch.state == "unchanged" and not verbose:
            continue
        sym, style = _STATE_STYLE.get(ch.state, ("?", ""))
        op = f" -> {ch.op}" if ch.op and ch.op != ch.state else ""
        c.print(f"[{style}]{sym} {ch.state:<9}[/] {escape(ch.kind):<11} {escape(ch.name)}{escape(op)}  [dim]{escape(ch.reason)}[/]", highlight=False)
        if show_diff and ch.diff and ch.state != "create":
            c.print(Syntax(ch.diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default", word_wrap=True))
    n = jp.counts()
    ops: dict[str, int] = {}
    for ch in jp.pending:
        ops[ch.op] = ops.get(ch.op, 0) + 1
    parts = [f"{ops.get('create', 0)} to create", f"{ops.get('update', 0) + ops.get('replace', 0)} to update"]
    if n.get("drifted"):
        parts[-1] += f" ({n['drifted']} drifted)"
    if ops.get("disable"):
        parts.append(f"{ops['disable']} to disable")
    parts.append(f"{ops.get('delete', 0)} to delete")
    parts.append(f"{n.get('unchanged', 0)} unchanged")
    if n.get("foreign"):
        parts.append(f"{n['foreign']} foreign (not ours, left alone)")
    if n.get("other"):
        parts.append(f"{n['other']} managed by other configs (left alone)")
    if n.get("orphaned"):
        kept = sum(1 for ch in jp.changes if ch.state == "orphaned" and not ch.op)
        if kept:
            parts.append(f"{kept} orphaned kept")
    head = "No changes." if not jp.pending else "Plan:"
    c.print(f"{head} {', '.join(parts)}.", highlight=False)


class _PlanCommand(click.Command):
    """`plan --detailed-exitcode` reserves 2 for "changes pending" (terraform): a usage error is 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            e.exit_code = 1
            raise


@jobs_group.command("plan", cls=_PlanCommand)
@config_option
@_connection_options
@_sync_options
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing would change, 2 when changes are pending, 1 on error.")
@click.option("--no-diff", is_flag=True, help="Do not show diffs.")
def plan_cmd(config_path: str, url: str | None, insecure: bool, ca_bundle: str | None, timeout: float, verify: bool | None,
             adopt: bool, prune: str, workers: int | None, as_json: bool, verbose: bool, detailed_exitcode: bool, no_diff: bool) -> None:
    """Compare the desired jobs with Jenkins: create, update, unchanged, drifted, orphaned, foreign."""
    from jenkins_kit.jenkins.jobs import plan_jobs

    try:
        cfg, desired = _desired(config_path)
        with _client(cfg, url, insecure, ca_bundle, timeout) as client:
            jp = plan_jobs(client, desired, verify=True if verify is None else verify, adopt=adopt, prune=prune,
                           workers=workers or cfg.jobs.workers, owner=_owner(cfg))
    except KitError as e:
        if not detailed_exitcode:
            raise
        err_console().print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
        raise click.exceptions.Exit(1) from None
    if as_json:
        print_json(jp.to_json())
    else:
        print_plan(jp, verbose=verbose, show_diff=not no_diff)
    if detailed_exitcode and jp.pending:
        raise click.exceptions.Exit(2)


@jobs_group.command("apply")
@config_option
@_connection_options
@_sync_options
def apply_cmd(config_path: str, url: str | None, insecure: bool, ca_bundle: str | None, timeout: float, verify: bool | None,
              adopt: bool, prune: str, workers: int | None, as_json: bool, verbose: bool) -> None:
    """Make Jenkins match the desired jobs: folders first, bounded parallel workers, idempotent.

    Exit 0 when every change succeeded, 18 when some failed (the summary lists each with the
    server's message; running apply again finishes the rest).
    """
    from jenkins_kit.jenkins.jobs import plan_jobs

    cfg, desired = _desired(config_path)
    nworkers = workers or cfg.jobs.workers
    with _client(cfg, url, insecure, ca_bundle, timeout) as client:
        jp = plan_jobs(client, desired, verify=bool(verify), adopt=adopt, prune=prune, diffs=False, workers=nworkers,
                       owner=_owner(cfg))
        if not as_json and jp.pending:
            print_plan(jp, verbose=verbose, show_diff=False, out=err_console())
        report = _apply_with_progress(client, jp, nworkers, show=not as_json)
    if as_json:
        print_json({"plan": jp.to_json(), "apply": report.to_json()})
    else:
        c = console()
        for o in report.outcomes:
            if verbose and o.ok:
                c.print(f"[green]ok[/]     {o.op:<8} {o.name}", highlight=False, markup=True)
        counts = report.counts()
        past = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "disable": "disabled"}
        done = ", ".join(f"{v} {past.get(k, k)}" for k, v in counts.items() if k != "failed" and v)
        if not jp.pending:
            c.print(f"No changes ({len(jp.changes)} jobs checked).", highlight=False)
        else:
            c.print(f"Applied in {report.seconds:.1f}s: {done or 'nothing'}; {len(report.failures)} failed.", highlight=False)
        if report.failures:
            e = err_console()
            e.print(f"[bold red]{len(report.failures)} change(s) failed[/] (run apply again to finish them):", highlight=False)
            for o in report.failures:
                e.print(f"  {o.op} {o.name}: {o.message}", markup=False, highlight=False)
    if report.failures:
        raise click.exceptions.Exit(ExitCode.PARTIAL)


def _apply_with_progress(client, jp, workers: int, *, show: bool):  # type: ignore[no-untyped-def]
    """apply_plan, with a progress bar on stderr when it is a terminal (long applies are minutes)."""
    from jenkins_kit.jenkins.jobs import apply_plan

    total = len(jp.pending)
    if not (show and total > 1 and err_console().is_terminal):
        return apply_plan(client, jp, workers=workers)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console(), transient=True) as bar:
        task = bar.add_task("apply", total=total)
        return apply_plan(client, jp, workers=workers, progress=lambda _o: bar.advance(task))


@jobs_group.command("render")
@config_option
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write jobs/<name>/config.xml and Jenkinsfile into.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def render_cmd(config_path: str, out_dir: str, as_json: bool) -> None:
    """Render every job's config.xml (and generated Jenkinsfile) offline."""
    _, desired = _desired(config_path)
    out = Path(out_dir)
    written = []
    for j in desired:
        base = out / "jobs" / j.full_name
        base.mkdir(parents=True, exist_ok=True)
        (base / "config.xml").write_text(j.config_xml, encoding="utf-8")
        files = ["config.xml"]
        if j.jenkinsfile is not None:
            (base / "Jenkinsfile").write_text(j.jenkinsfile, encoding="utf-8")
            files.append("Jenkinsfile")
        written.append({"name": j.full_name, "kind": j.kind, "spec_hash": j.spec_hash, "dir": str(base), "files": files})
    if as_json:
        print_json({"jobs": written})
    else:
        for w in written:
            console().print(f"{w['kind']:<11} {w['name']:<40} {w['dir']}", markup=False, highlight=False)
        console().print(f"{len(written)} items written under {out / 'jobs'}", markup=False, highlight=False)


@jobs_group.command("discover")
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.option("--workers", type=click.IntRange(1, 32), default=4, show_default=True, help="Repositories read in parallel.")
def discover_cmd(sources: tuple[str, ...], as_json: bool, workers: int) -> None:
    """Read git repositories (URL or local path) and print the `repositories:` section for the lab config.

    Each repository is read with a shallow, single-branch clone of its default branch: Dockerfile,
    an existing Jenkinsfile, Kubernetes manifests (kustomization.yaml, deploy/, k8s/), language
    markers; a `.jenkins-kit.yaml` in the repository overrides anything derived.
    """
    from jenkins_kit.discover import discover, to_yaml

    results = discover(list(sources), workers=workers)
    failed = [r for r in results if r.error]
    if as_json:
        print_json({"repositories": [r.entry for r in results if not r.error],
                    "errors": [{"source": r.source, "error": r.error} for r in failed]})
    else:
        sys.stdout.write(to_yaml([r for r in results if not r.error]))
        for r in results:
            for note in r.notes:
                err_console().print(f"{r.source}: {note}", markup=False, highlight=False)
    for r in failed:
        err_console().print(f"[bold red]error:[/] {r.source}: ", end="", highlight=False)
        err_console().print(r.error, markup=False, highlight=False)
    if failed:
        raise click.exceptions.Exit(ExitCode.PARTIAL if len(failed) < len(results) else ExitCode.ERROR)


def register(group: click.Group) -> None:
    group.add_command(jobs_group)
