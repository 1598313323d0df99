"""`jenkins-kit doctor | plan | up | down | admin-password`: the cluster side of a lab."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from jenkins_kit.cli.connection import Connection, connection_options
from jenkins_kit.cli.output import config_option, console, err_console, output_option, print_json
from jenkins_kit.errors import ExitCode, KitError


def _cluster_options(f: Any) -> Any:
    f = click.option("--context", default=None, help="kubeconfig context (default: cluster.context, then the current one).")(f)
    f = click.option("--kubeconfig", default=None, type=click.Path(dir_okay=False),
                     help="kubeconfig file (default: cluster.kubeconfig, then $KUBECONFIG, then ~/.kube/config).")(f)
    return config_option(f)


def _helm_options(f: Any) -> Any:
    f = click.option("--helm", "helm_path", default=None, envvar="JENKINS_KIT_HELM", type=click.Path(dir_okay=False),
                     help="helm binary (env JENKINS_KIT_HELM; default: helm on PATH).")(f)
    f = click.option("--chart", "chart_path", default=None, type=click.Path(exists=True),
                     help="A local chart directory or .tgz archive instead of downloading jenkins.chart at jenkins.chart_version "
                          "(offline installs: helm pull jenkins --repo https://charts.jenkins.io --version X).")(f)
    f = click.option("--metallb-chart", "metallb_chart_path", default=None, type=click.Path(exists=True),
                     help="A local MetalLB chart (offline), used when the config has a metallb: section.")(f)
    return f


def _load(config_path: str) -> Any:
    from jenkins_kit.config import load_config

    return load_config(config_path)


def _kube_settings(cfg: Any, config_path: str, kubeconfig: str | None, context: str | None) -> tuple[str | None, str | None]:
    path = kubeconfig or cfg.cluster.kubeconfig
    if path and not kubeconfig and not os.path.isabs(os.path.expanduser(path)):
        path = str(Path(config_path).resolve().parent / path)
    return (os.path.expanduser(path) if path else None), (context or cfg.cluster.context)


def _bootstrap(cfg: Any, config_path: str, kubeconfig: str | None, context: str | None, helm_path: str | None,
               chart_path: str | None, metallb_chart_path: str | None = None, adopt: bool = False, need_helm: bool = True,
               progress: Any = None, jobs: bool = True, conn: Any = None) -> Any:
    from jenkins_kit.bootstrap import METALLB_REPO, Bootstrap
    from jenkins_kit.kube.client import Kube
    from jenkins_kit.kube.helm import ChartRef, Helm, HelmMissing, resolve_chart

    kc, ctx = _kube_settings(cfg, config_path, kubeconfig, context)
    kube = Kube.connect(kc, ctx)
    try:
        helm = Helm(helm_path, kubeconfig=kc or os.environ.get("KUBECONFIG"), context=ctx)
    except HelmMissing:
        if need_helm:
            raise
        helm = None
    chart = ChartRef(os.path.abspath(chart_path)) if chart_path else resolve_chart(cfg.jenkins.chart, cfg.jenkins.chart_version, cfg.jenkins.chart_repo)
    mchart = None
    if metallb_chart_path:
        mchart = ChartRef(os.path.abspath(metallb_chart_path))
    elif cfg.metallb is not None:
        mchart = resolve_chart("metallb", cfg.metallb.chart_version, METALLB_REPO)
    kw = {"progress": progress} if progress else {}
    return Bootstrap(cfg, kube, helm, chart, adopt=adopt, metallb_chart=mchart, config_dir=str(Path(config_path).resolve().parent),
                     jobs=jobs, jenkins=conn, **kw)


def _print_warnings() -> None:
    from jenkins_kit.secrets import take_warnings

    for w in take_warnings():
        err_console().print("[yellow]warning:[/] ", end="", highlight=False)
        err_console().print(w, markup=False, highlight=False)


class _Status:
    """Progress on stderr: a live spinner on a terminal, plain lines otherwise (CI logs)."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = err_console()
        self.quiet = quiet
        self._status: Any = None
        self._last = ""

    def __enter__(self) -> _Status:
        if self.console.is_terminal and not self.quiet:
            self._status = self.console.status("starting", spinner="dots")
            self._status.__enter__()
        return self

    def __call__(self, text: str) -> None:
        if self.quiet:
            return
        if self._status is not None:
            self._status.update(text)
        elif text.split("(")[0] != self._last.split("(")[0]:
            self.console.print(f"... {text}", markup=False, highlight=False)
        self._last = text

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)


# ---------------------------------------------------------------------- doctor


@click.command("doctor")
@_cluster_options
@click.option("--helm", "helm_path", default=None, envvar="JENKINS_KIT_HELM", type=click.Path(dir_okay=False), help="helm binary.")
@click.option("--nfs-address", default=None, metavar="HOST[:PORT]", help="Probe this NFS address instead of nfs.server:2049.")
@click.option("--registry-url", default=None, metavar="URL", help="Probe this registry URL instead of https://registry.address.")
@connection_options
@click.option("--jenkins-url", "jenkins_url_alias", default=None, hidden=True, help="Old name of --url.")
@click.option("--showmount", default=None, type=click.Path(dir_okay=False), help="showmount binary (default: on PATH).")
@click.option("--rpcbind-port", type=click.IntRange(1, 65535), default=111, show_default=True,
              help="Where to ask rpcbind for the NFS mount daemon (tests aim it at a loopback stand-in).")
@click.option("--probe-timeout", "probe_timeout_alias", type=float, default=None, hidden=True, help="Old name of --request-timeout.")
@click.option("--skip", multiple=True, type=click.Choice(["cluster", "helm", "nfs", "registry", "jenkins"]), help="Skip a group of checks.")
@output_option
def doctor_cmd(config_path: str, kubeconfig: str | None, context: str | None, helm_path: str | None, nfs_address: str | None,
               registry_url: str | None, conn: Connection, jenkins_url_alias: str | None, showmount: str | None,
               rpcbind_port: int, probe_timeout_alias: float | None, skip: tuple[str, ...], as_json: bool) -> None:
    """Check the lab: cluster, control-plane node and its taint, helm, NFS, registry, LoadBalancer
    controller, and Jenkins once it runs. Each problem comes with its fix. Exit 20 if a check fails.

    \b
    Examples:
      jenkins-kit doctor
      jenkins-kit doctor --skip cluster --skip helm -o json
      jenkins-kit doctor --url https://jenkins.lab/ --ca-bundle lab-ca.pem
    """
    from jenkins_kit import doctor
    from jenkins_kit.kube.client import Kube

    cfg = _load(config_path)
    kc, ctx = _kube_settings(cfg, config_path, kubeconfig, context)
    # Probes are quick checks: --request-timeout defaults to 3 s here (30 s elsewhere).
    given = click.get_current_context().get_parameter_source("request_timeout") not in (click.core.ParameterSource.DEFAULT, None)
    probe_timeout = conn.request_timeout if given else (probe_timeout_alias or 3.0)
    targets = doctor.Targets.from_config(cfg, nfs=nfs_address, registry_url=registry_url, jenkins_url=conn.url or jenkins_url_alias,
                                         timeout=probe_timeout, rpcbind_port=rpcbind_port)
    targets.jenkins_verify = False if conn.insecure else (conn.ca_bundle or True)
    report = doctor.run(cfg, targets, connect=lambda: Kube.connect(kc, ctx, request_timeout=max(probe_timeout, 5)),
                        helm_binary=helm_path, showmount=showmount, skip=set(skip))
    if as_json:
        print_json(report.to_json())
    else:
        out = console()
        style = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
        for c in report.checks:
            out.print(f"[{style[c.status]}]{c.status:<4}[/] {c.name:<19} ", end="", highlight=False)
            out.print(c.detail, markup=False, highlight=False)
            if c.fix and c.status in ("warn", "fail"):
                out.print(f"{'':<25}fix: {c.fix}", markup=False, highlight=False, style="yellow")
        n = report.to_json()["counts"]
        out.print(f"{n['pass']} passed, {n['warn']} warnings, {n['fail']} failed, {n['skip']} skipped", highlight=False)
    if not report.ok:
        raise click.exceptions.Exit(ExitCode.ERROR)


# ---------------------------------------------------------------------- plan


@click.command("plan")
@_cluster_options
@_helm_options
@click.option("--adopt", is_flag=True, help="Plan to take over existing objects that jenkins-kit did not create.")
@output_option
@click.option("--all", "show_all", is_flag=True, help="Also list what is already as desired.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when nothing would change, 2 when changes are pending, 1 on error (as jobs plan and terraform).")
@click.option("--no-jobs", is_flag=True, help="Do not plan jobs (they need JENKINS_URL and credentials).")
@connection_options
def plan_cmd(config_path: str, kubeconfig: str | None, context: str | None, helm_path: str | None, chart_path: str | None,
             metallb_chart_path: str | None, adopt: bool, as_json: bool, show_all: bool, detailed_exitcode: bool, no_jobs: bool,
             conn: Connection) -> None:
    """What 'up' would change: server-side dry-run diffs of our objects, the Helm release (values and
    rendered manifest vs the live release) and each JCasC fragment. Changes nothing.

    \b
    Examples:
      jenkins-kit plan
      jenkins-kit plan --detailed-exitcode --no-jobs     CI gate: 0 clean, 2 changes, 1 error
    """
    cfg = _load(config_path)
    with _Status(quiet=as_json) as status:
        bs = _bootstrap(cfg, config_path, kubeconfig, context, helm_path, chart_path, metallb_chart_path, adopt, need_helm=False, progress=status,
                        jobs=not no_jobs, conn=conn)
        bp = bs.plan()
    _print_warnings()
    if as_json:
        print_json(bp.plan.to_json())
    else:
        bp.plan.print(console(), show_noop=show_all)
    if detailed_exitcode and not bp.plan.is_empty:
        raise click.exceptions.Exit(2)


# ---------------------------------------------------------------------- up


@click.command("up")
@_cluster_options
@_helm_options
@click.option("--adopt", is_flag=True, help="Take over existing objects that jenkins-kit did not create.")
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait for the controller to become ready.")
@click.option("--placement-timeout", default=60, show_default=True, help="Seconds to wait for the scheduler's decision.")
@click.option("--no-wait", is_flag=True, help="Do not wait for readiness (placement is still verified).")
@click.option("--no-jobs", is_flag=True, help="Do not sync jobs after Jenkins is ready.")
@output_option
@connection_options
def up_cmd(config_path: str, kubeconfig: str | None, context: str | None, helm_path: str | None, chart_path: str | None,
           metallb_chart_path: str | None, adopt: bool, timeout: int, placement_timeout: int, no_wait: bool, no_jobs: bool,
           as_json: bool, conn: Connection) -> None:
    """Bring the lab's Jenkins up, idempotently: namespaces, NFS PV + PVC (verified Bound), admin
    Secret (random password if absent), registry Secret, agent RBAC, the pinned chart with our values
    and JCasC; then verify the controller's placement, wait for readiness and report its address.

    \b
    Examples:
      jenkins-kit up
      jenkins-kit up --no-wait --no-jobs -o json
    """
    cfg = _load(config_path)
    out = console()
    summary: dict[str, Any] = {}
    with _Status(quiet=False) as status:
        bs = _bootstrap(cfg, config_path, kubeconfig, context, helm_path, chart_path, metallb_chart_path, adopt, progress=status,
                        jobs=not no_jobs, conn=conn)
        bp = bs.plan()
        _print_warnings()
        if not as_json:
            if bp.plan.is_empty:
                out.print("No changes: the cluster already matches the config.", highlight=False)
            else:
                bp.plan.print(out, show_diff=False)
        done = bs.apply(bp)
        summary["changes"] = done
        summary["plan"] = bp.plan.to_json()
        if not as_json:
            for line in done:
                out.print(f"[green]✓[/] {line}", highlight=False)
        report = bs.verify_placement(timeout=placement_timeout)
        summary["placement"] = report.to_json()
        _print_placement(report, as_json)
        if report.status in ("unschedulable", "missing-node"):
            if as_json:
                print_json(summary)
            raise KitError(report.summary, "; ".join(report.fixes) or None)
        if not no_wait:
            pod = bs.wait_ready(timeout, progress=status)
            summary["ready"] = (pod.get("metadata") or {}).get("name")
            if not as_json:
                out.print(f"[green]✓[/] controller {summary['ready']} is ready", highlight=False)
        jcasc_ok, jcasc_line = (True, "JCasC: not reloaded (--no-wait)") if no_wait else bs.reload_jcasc(bp)
        summary["jcasc"] = jcasc_line
        if not as_json:
            out.print(f"{'[green]✓[/]' if jcasc_ok else '[bold red]✗[/]'} ", end="", highlight=False)
            out.print(jcasc_line, markup=False, highlight=False)
        addr, why = bs.service_address() if no_wait else bs.wait_address(min(timeout, 120), progress=status)
        summary["address"] = addr
        summary["address_note"] = why
        if not no_jobs and not no_wait:
            summary["jobs"] = bs.sync_jobs()
    if as_json:
        print_json(summary)
        if not jcasc_ok:
            raise click.exceptions.Exit(ExitCode.ERROR)
        return
    if addr:
        out.print(f"Jenkins: {addr}", highlight=False)
    else:
        out.print("[yellow]Jenkins address:[/] ", end="", highlight=False)
        out.print(why, markup=False, highlight=False)
    out.print(f"Admin user: {cfg.jenkins.admin.user} (password: jenkins-kit admin-password)", highlight=False, markup=False)
    out.print(summary.get("jobs") or "jobs: not synced (--no-wait/--no-jobs); run jenkins-kit jobs apply once Jenkins answers",
              highlight=False, markup=False)
    if not jcasc_ok:
        raise KitError(jcasc_line, "fix the JCasC the controller refused (jenkins-kit plan shows the live check), then rerun up")


def _print_placement(report: Any, as_json: bool) -> None:
    if as_json:
        return
    out = console() if report.ok else err_console()
    mark = "[green]✓[/]" if report.ok else ("[yellow]![/]" if report.status in ("elsewhere", "pending") else "[bold red]✗[/]")
    out.print(f"{mark} ", end="", highlight=False)
    lines = report.lines()
    out.print(lines[0], markup=False, highlight=False)
    for line in lines[1:]:
        out.print(line, markup=False, highlight=False)


# ---------------------------------------------------------------------- down


@click.command("down")
@_cluster_options
@click.option("--helm", "helm_path", default=None, envvar="JENKINS_KIT_HELM", type=click.Path(dir_okay=False), help="helm binary.")
@click.option("--purge", is_flag=True, help="Also delete the PV, PVC, Secrets, RBAC and namespaces jenkins-kit created (NFS data stays).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation with --purge.")
def down_cmd(config_path: str, kubeconfig: str | None, context: str | None, helm_path: str | None, purge: bool, yes: bool) -> None:
    """Uninstall the Jenkins release. Keeps the PV, PVC, Secrets and the NFS data unless --purge;
    never deletes objects jenkins-kit did not create (ownership label).

    \b
    Examples:
      jenkins-kit down
      jenkins-kit down --purge --yes
    """
    cfg = _load(config_path)
    if purge and not yes:
        if not sys.stdin.isatty():
            raise KitError("--purge needs confirmation", "rerun with --yes to confirm non-interactively")
        click.confirm(
            f"Delete the release and every object jenkins-kit created for '{cfg.jenkins.release}' "
            f"(PV {cfg.nfs.volume_name}, PVC {cfg.nfs.claim_name}, Secrets, RBAC)? NFS data is kept.",
            abort=True,
        )
    with _Status() as status:
        bs = _bootstrap(cfg, config_path, kubeconfig, context, helm_path, None, need_helm=False, progress=status)
        lines = bs.down(purge)
    for line in lines:
        console().print(line, markup=False, highlight=False)


# ---------------------------------------------------------------------- admin-password


@click.command("admin-password")
@_cluster_options
def admin_password_cmd(config_path: str, kubeconfig: str | None, context: str | None) -> None:
    """Print the Jenkins admin password (from the admin Secret) on stdout. The only command that shows it.

    \b
    Examples:
      jenkins-kit admin-password | xclip
    """
    from jenkins_kit.kube.client import Kube

    cfg = _load(config_path)
    kc, ctx = _kube_settings(cfg, config_path, kubeconfig, context)
    a = cfg.jenkins.admin
    ns = cfg.cluster.namespace
    value = Kube.connect(kc, ctx).read_secret_key(ns, a.existing_secret, a.password_key)
    if value is None:
        raise KitError(f"Secret {ns}/{a.existing_secret} (key {a.password_key}) not found", "run jenkins-kit up first")
    if sys.stdout.isatty():
        err_console().print(f"admin password for user {a.user}:", highlight=False, markup=False)
    sys.stdout.write(value + "\n")


def register(group: click.Group) -> None:
    for cmd in (doctor_cmd, plan_cmd, up_cmd, down_cmd, admin_password_cmd):
        group.add_command(cmd)
