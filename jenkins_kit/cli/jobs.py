"""`jenkins-kit jobs discover|render|plan|apply`: jobs generated from repository metadata."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from jenkins_kit.cli.connection import connection_options, timeout_alias
from jenkins_kit.cli.output import config_option, console, err_console, is_terminal, output_option, plural, print_json
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

    \b
    Examples:
      jenkins-kit jobs plan
      jenkins-kit jobs apply --prune disable
    """


def _load(config_path: str) -> tuple[Any, Path]:
    from jenkins_kit.config import load_config

    return load_config(config_path), Path(config_path).resolve().parent


def _desired(config_path: str, *, lazy: bool = False) -> tuple[Any, list[Any]]:
    from jenkins_kit.render.jobs import render_jobs

    cfg, base = _load(config_path)
    return cfg, render_jobs(cfg, base_dir=base, lazy=lazy)


def _owner(cfg: Any) -> Any:
    from jenkins_kit.jenkins.jobs import owner_for

    return owner_for(cfg)


def _client(cfg: Any, conn: Any) -> Any:
    from jenkins_kit.jenkins.client import JenkinsClient

    return JenkinsClient(conn.settings(cfg))


def _sync_options(f: Any) -> Any:
    opts = [
        click.option("--verify/--no-verify", default=None, help="Also fetch every managed config.xml to catch edits made in Jenkins "
                     "(default: on for plan, off for apply, which then trusts the ownership marker: one request when nothing changed)."),
        click.option("--adopt", is_flag=True, help="Take over jobs that exist but are not managed by jenkins-kit (default: never touched)."),
        click.option("--adopt-from", "adopt_from", multiple=True, metavar="OWNER",
                     help="Take over this config's jobs that another jenkins-kit config (jobs.owner OWNER) manages, e.g. after "
                          "renaming jobs.owner. Repeatable. Its other jobs stay its own."),
        click.option("--prune", type=click.Choice(["ignore", "disable", "delete"]), default="ignore", show_default=True,
                     help="What to do with jobs jenkins-kit manages that are no longer in the config (never touches other jobs)."),
        click.option("--workers", type=click.IntRange(1, 64), default=None, help="Parallel requests (default: jobs.workers, 16)."),
        output_option,
        click.option("-v", "--verbose", is_flag=True, help="List every job, unchanged ones too (apply: off a terminal, "
                     "only the summary is printed without -v)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _plan_summary(jp: Any) -> str:
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
    return f"{head} {', '.join(parts)}."


def print_plan(jp: Any, *, verbose: bool = False, show_diff: bool = True, stderr: bool = False, details: bool = True) -> None:
    """One line per change (unchanged ones with `verbose`) and a summary, on stdout (or stderr).
    Styled on a terminal; plain text, written at once, otherwise (rich costs ~0.2 ms a line, a third
    of a second per 1,000 jobs, would wrap diff lines at 80 columns, and is not even imported then).
    `details=False` prints the summary alone."""
    lines: Iterator[Any] = (ch for ch in jp.changes if verbose or ch.state != "unchanged") if details else iter(())
    if not is_terminal(stderr):  # CI logs, pipes
        stream = sys.stderr if stderr else sys.stdout
        buf = []
        for ch in lines:
            sym = _STATE_STYLE.get(ch.state, ("?", ""))[0]
            op = f" -> {ch.op}" if ch.op and ch.op != ch.state else ""
            buf.append(f"{sym} {ch.state:<9} {ch.kind:<11} {ch.name}{op}  {ch.reason}\n")
            if show_diff and ch.diff and ch.state != "create":
                buf.append(ch.diff if ch.diff.endswith("\n") else ch.diff + "\n")
        buf.append(_plan_summary(jp) + "\n")
        stream.write("".join(buf))
        stream.flush()
        return
    c = err_console() if stderr else console()
    from rich.markup import escape
    from rich.syntax import Syntax

    for ch in lines:
        sym, style = _STATE_STYLE.get(ch.state, ("?", ""))
        op = f" -> {ch.op}" if ch.op and ch.op != ch.state else ""
        c.print(f"[{style}]{sym} {ch.state:<9}[/] {escape(ch.kind):<11} {escape(ch.name)}{escape(op)}  [dim]{escape(ch.reason)}[/]", highlight=False)
        if show_diff and ch.diff and ch.state != "create":
            c.print(Syntax(ch.diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default", word_wrap=True))
    c.print(_plan_summary(jp), highlight=False)


@jobs_group.command("plan")
@config_option
@connection_options
@timeout_alias
@_sync_options
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing would change, 2 when changes are pending, 1 on error.")
@click.option("--no-diff", is_flag=True, help="Do not show diffs.")
@click.option("--out", "plan_out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Save the plan; 'jobs apply --plan FILE' then applies exactly it (drift included), or refuses if it went stale.")
def plan_cmd(config_path: str, conn: Any, verify: bool | None,
             adopt: bool, adopt_from: tuple[str, ...], prune: str, workers: int | None, as_json: bool, verbose: bool, detailed_exitcode: bool, no_diff: bool,
             plan_out: str | None) -> None:
    """Compare the desired jobs with Jenkins: create, update, unchanged, drifted, orphaned, foreign.

    \b
    Examples:
      jenkins-kit jobs plan
      jenkins-kit jobs plan --detailed-exitcode --no-diff    CI gate
      jenkins-kit jobs plan -o json | jq '.changes[] | .name'
    """
    from jenkins_kit.jenkins.jobs import plan_jobs

    # Errors (usage, config, Jenkins) are printed by the root handler; under --detailed-exitcode it exits 1.
    cfg, desired = _desired(config_path, lazy=True)
    with _client(cfg, conn) as client:
        jp = plan_jobs(client, desired, verify=True if verify is None else verify, adopt=adopt, prune=prune,
                       workers=workers or cfg.jobs.workers, owner=_owner(cfg), adopt_from=adopt_from)
    if plan_out:
        _save_plan(plan_out, config_path, jp, verify=True if verify is None else verify, adopt=adopt, prune=prune,
                   adopt_from=list(adopt_from))
    if as_json:
        print_json(jp.to_json())
    else:
        print_plan(jp, verbose=verbose, show_diff=not no_diff)
    if detailed_exitcode and jp.pending:
        raise click.exceptions.Exit(2)


@jobs_group.command("apply")
@config_option
@connection_options
@timeout_alias
@_sync_options
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True), default=None, metavar="FILE",
              help="Apply the plan saved by 'jobs plan --out FILE': exactly those changes (its --verify, --adopt and --prune), "
                   "refused if Jenkins or the config changed since.")
def apply_cmd(config_path: str, conn: Any, verify: bool | None,
              adopt: bool, adopt_from: tuple[str, ...], prune: str, workers: int | None, as_json: bool, verbose: bool, plan_file: str | None) -> None:
    """Make Jenkins match the desired jobs: folders first, bounded parallel workers, idempotent.

    Exit 0 when every change succeeded, 18 when some failed (the summary lists each with the
    server's message; running apply again finishes the rest).

    \b
    Examples:
      jenkins-kit jobs apply
      jenkins-kit jobs apply --no-verify --workers 16    trust the ownership markers (fast)
    """
    saved = _load_plan(plan_file) if plan_file else None
    if saved is not None:
        config_path = saved["config"]
        verify, adopt, prune = saved["verify"], saved["adopt"], saved["prune"]
        adopt_from = tuple(saved.get("adopt_from") or ())
    cfg, desired = _desired(config_path, lazy=True)
    nworkers = workers or cfg.jobs.workers
    from jenkins_kit.render.jobs import RenderAhead

    # The render starts now, on the other cores, while the HTTP stack is imported and Jenkins listed
    # (not with --verify, whose plan renders what it compares itself).
    with RenderAhead([] if verify else desired) as ahead, _client(cfg, conn) as client:
        from jenkins_kit.jenkins.jobs import plan_jobs

        jp = plan_jobs(client, desired, verify=bool(verify), adopt=adopt, prune=prune, diffs=False, workers=nworkers,
                       owner=_owner(cfg), adopt_from=adopt_from)
        ahead.use(len(jp.pending))
        if saved is not None and _pending_key(jp) != saved["pending"]:
            raise KitError(
                f"the saved plan {plan_file} is stale: Jenkins or the config changed since it was made; nothing was applied",
                f"run 'jenkins-kit jobs plan --out {plan_file}' again and review it",
            )
        if not as_json and jp.pending:
            # On a terminal the changes are listed; in a log (not a terminal) the summary alone
            # unless -v: a 10,000-job apply should not write 10,000 lines nobody reads.
            print_plan(jp, verbose=verbose, show_diff=False, stderr=True, details=verbose or is_terminal(stderr=True))
        report = _apply_with_progress(client, jp, nworkers, show=not as_json)
    if as_json:
        print_json({"plan": jp.to_json(), "apply": report.to_json()})
    else:
        counts = report.counts()
        past = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "disable": "disabled"}
        done = ", ".join(f"{v} {past.get(k, k)}" for k, v in counts.items() if k != "failed" and v)
        last = (f"No changes ({len(jp.changes)} jobs checked)." if not jp.pending
                else f"Applied in {report.seconds:.1f}s: {done or 'nothing'}; {len(report.failures)} failed.")
        if is_terminal():
            c = console()
            for o in report.outcomes:
                if verbose and o.ok:
                    c.print(f"[green]ok[/]     {o.op:<8} {o.name}", highlight=False, markup=True)
            c.print(last, highlight=False)
        else:  # a log: plain text at once, and no rich to import
            sys.stdout.write("".join(f"ok     {o.op:<8} {o.name}\n" for o in report.outcomes if verbose and o.ok) + last + "\n")
            sys.stdout.flush()
        if report.failures:
            e = err_console()
            e.print(f"[bold red]{len(report.failures)} change(s) failed[/] (run apply again to finish them):", highlight=False)
            for o in report.failures:
                e.print(f"  {o.op} {o.name}: {o.message}", markup=False, highlight=False)
    if report.failures:
        raise click.exceptions.Exit(ExitCode.PARTIAL)


_PLAN_FORMAT = "jenkins-kit jobs plan/1"


def _pending_key(jp: Any) -> list[list[str]]:
    """What a plan will do, in a form that compares across runs: [name, op, desired spec hash]."""
    out = []
    for ch in jp.pending:
        job = jp.desired.get(ch.name.lower())
        out.append([ch.name, ch.op, job.spec_hash if job is not None else ""])
    return sorted(out)


def _save_plan(path: str, config_path: str, jp: Any, *, verify: bool, adopt: bool, prune: str,
               adopt_from: list[str] | None = None) -> None:
    import json

    doc = {"format": _PLAN_FORMAT, "config": str(Path(config_path).resolve()), "verify": verify, "adopt": adopt, "prune": prune,
           "adopt_from": list(adopt_from or []), "pending": _pending_key(jp), "plan": jp.to_json()}
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _load_plan(path: str) -> dict[str, Any]:
    import json

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != _PLAN_FORMAT:
            raise ValueError("not a plan written by 'jenkins-kit jobs plan --out'")
        if not (isinstance(doc.get("config"), str) and isinstance(doc.get("pending"), list) and isinstance(doc.get("verify"), bool)
                and isinstance(doc.get("adopt"), bool) and doc.get("prune") in ("ignore", "disable", "delete")):
            raise ValueError("the plan file is incomplete")
    except (OSError, UnicodeDecodeError, ValueError) as e:
        err = KitError(f"cannot use {path} as a plan: {e}", "write one with 'jenkins-kit jobs plan --out FILE'")
        err.exit_code = ExitCode.INPUT
        raise err from None
    return doc


def _apply_with_progress(client, jp, workers: int, *, show: bool):  # type: ignore[no-untyped-def]
    """apply_plan, with a progress bar on stderr when it is a terminal (long applies are minutes)."""
    from jenkins_kit.jenkins.jobs import apply_plan, render_pending

    total = len(jp.pending)
    if not (show and total > 1 and is_terminal(stderr=True)):
        return apply_plan(client, jp, workers=workers)
    render_pending(jp)  # before the bar's refresh thread starts: rendering forks only without threads
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console(), transient=True) as bar:
        task = bar.add_task("apply", total=total)
        return apply_plan(client, jp, workers=workers, progress=lambda _o: bar.advance(task))


@jobs_group.command("render")
@config_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write jobs/<name>/config.xml and Jenkinsfile into.")
@output_option
def render_cmd(config_path: str, out_dir: str, as_json: bool) -> None:
    """Render every job's config.xml (and generated Jenkinsfile) offline.

    \b
    Examples:
      jenkins-kit jobs render --out out/
    """
    from jenkins_kit.render.write import job_files, write_jobs

    _, desired = _desired(config_path, lazy=True)  # rendered by whichever process writes them (write_jobs)
    out = Path(out_dir)
    base = str(out / "jobs")
    written = [{"name": j.full_name, "kind": j.kind, "spec_hash": j.spec_hash, "dir": f"{base}/{j.full_name}",
                "files": [p.rpartition("/")[2] for p in job_files(j)]} for j in desired]
    # Same writer as `render`: all or nothing, and jobs no longer rendered are removed from jobs/.
    results = write_jobs(desired, out, scope="jobs/")
    removed = [p for p, st in results if st == "removed"]
    if as_json:
        print_json({"jobs": written, "removed": removed})
    else:
        lines = [f"{w['kind']:<11} {w['name']:<40} {w['dir']}\n" for w in written]
        lines += [f"removed     {r}\n" for r in removed]
        lines.append(f"{plural(len(written), 'item')} written under {out / 'jobs'}\n")
        sys.stdout.write("".join(lines))  # plain text at once: no markup in paths, no per-line console cost
        sys.stdout.flush()


@jobs_group.command("discover")
@click.argument("sources", nargs=-1, required=True)
@output_option(formats=("yaml", "json"))
@click.option("--workers", type=click.IntRange(1, 32), default=4, show_default=True, help="Repositories read in parallel.")
def discover_cmd(sources: tuple[str, ...], as_json: bool, workers: int) -> None:
    """Read git repositories (URL or local path) and print the `repositories:` section for the lab config.

    Each repository is read with a shallow, single-branch clone of its default branch: Dockerfile,
    an existing Jenkinsfile, Kubernetes manifests (kustomization.yaml, deploy/, k8s/), language
    markers; a `.jenkins-kit.yaml` in the repository overrides anything derived.

    \b
    Examples:
      jenkins-kit jobs discover https://git.lab/team/app.git ../svc >> jenkins-kit.yaml
      jenkins-kit jobs discover ../app -o json
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
