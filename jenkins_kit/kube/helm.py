"""Helm wrapper: subprocess with argument lists (never a shell string), values on stdin.

Values never travel in argv (`--set`), so nothing sensitive shows in `ps` or shell history; they
are fed as YAML on stdin (`-f -`) and never touch the disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.secrets import scrub


class HelmError(KitError):
    exit_code = ExitCode.ERROR


class HelmMissing(HelmError):
    pass


@dataclass(frozen=True)
class ChartRef:
    """Where the chart comes from: a repo URL + name + pinned version, or a local dir/archive."""

    chart: str
    version: str | None = None
    repo: str | None = None

    @property
    def local(self) -> bool:
        return self.repo is None and (os.path.sep in self.chart or self.chart.endswith(".tgz") or Path(self.chart).exists())

    def args(self) -> list[str]:
        out = [self.chart]
        if self.repo:
            out += ["--repo", self.repo]
        if self.version and not self.local:
            out += ["--version", self.version]
        return out

    def describe(self) -> str:
        if self.local:
            return f"{self.chart} (local)"
        return f"{self.chart} {self.version or 'latest'}" + (f" from {self.repo}" if self.repo else "")


def chart_cache_dirs() -> list[Path]:
    """Where packaged charts are looked up before any repository (offline labs, CI).

    ``JENKINS_KIT_CHART_CACHE`` (os.pathsep-separated) first, then ``~/.cache/jenkins-kit/charts``,
    which ``scripts/setup`` fills from a ``../shared/charts`` beside the checkout when there is one.
    """
    dirs = [Path(p) for p in os.environ.get("JENKINS_KIT_CHART_CACHE", "").split(os.pathsep) if p]
    dirs.append(Path(os.path.expanduser("~")) / ".cache" / "jenkins-kit" / "charts")
    return dirs


def resolve_chart(name: str, version: str, repo: str) -> ChartRef:
    """The pinned chart: a cached ``<name>-<version>.tgz`` when one exists, else the repository.

    The cached archive must be exactly the pinned version (helm's own package naming), so a cache
    never silently changes what is installed.
    """
    for d in chart_cache_dirs():
        candidate = d / f"{name}-{version}.tgz"
        if candidate.is_file():
            return ChartRef(str(candidate), version)
    return ChartRef(name, version, repo)


def find_helm(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    env = os.environ.get("JENKINS_KIT_HELM")
    if env and os.access(env, os.X_OK):
        return env
    return shutil.which("helm")


class Helm:
    def __init__(self, binary: str | None = None, *, kubeconfig: str | None = None, context: str | None = None,
                 timeout: float = 600.0) -> None:
        found = find_helm(binary)
        if found is None:
            raise HelmMissing(
                "helm not found" + (f" at {binary}" if binary else " on PATH"),
                "install helm v3 (https://helm.sh/docs/intro/install/) or set JENKINS_KIT_HELM to its path",
            )
        self.binary = found
        self.kubeconfig = os.path.expanduser(kubeconfig) if kubeconfig else None
        self.context = context
        self.timeout = timeout
        self.calls: list[list[str]] = []  # argv of every call, for tests and --verbose

    def _global(self) -> list[str]:
        out = []
        if self.kubeconfig:
            out += ["--kubeconfig", self.kubeconfig]
        if self.context:
            out += ["--kube-context", self.context]
        return out

    def run(self, args: Sequence[str], *, stdin: str | None = None, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        argv = [self.binary, *args, *self._global()]
        self.calls.append(list(argv))
        env = dict(os.environ)
        env.setdefault("HELM_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache", "helm"))
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout or self.timeout, env=env)
        except subprocess.TimeoutExpired:
            raise HelmError(f"helm {args[0]} did not finish within {timeout or self.timeout:.0f}s", "check the cluster and retry") from None
        if check and proc.returncode != 0:
            raise HelmError(f"helm {' '.join(args[:2])} failed: {scrub(proc.stderr.strip() or proc.stdout.strip())}", _hint(proc.stderr))
        return proc

    # ------------------------------------------------------------------ queries

    def version(self) -> str:
        return self.run(["version", "--short"], timeout=30).stdout.strip()

    def status(self, release: str, namespace: str) -> dict[str, Any] | None:
        proc = self.run(["status", release, "--namespace", namespace, "--output", "json"], check=False, timeout=60)
        if proc.returncode != 0:
            if "not found" in proc.stderr.lower():
                return None
            raise HelmError(f"helm status {release} failed: {scrub(proc.stderr.strip())}", _hint(proc.stderr))
        return json.loads(proc.stdout)

    def metadata(self, release: str, namespace: str) -> dict[str, Any]:
        """chart, version (the chart's), appVersion, revision, status (helm >= 3.13)."""
        proc = self.run(["get", "metadata", release, "--namespace", namespace, "--output", "json"], check=False, timeout=60)
        if proc.returncode != 0:
            return {}
        return json.loads(proc.stdout)

    def get_values(self, release: str, namespace: str) -> dict[str, Any]:
        out = self.run(["get", "values", release, "--namespace", namespace, "--output", "json"], timeout=60).stdout
        return json.loads(out) or {}

    def get_manifest(self, release: str, namespace: str) -> str:
        return self.run(["get", "manifest", release, "--namespace", namespace], timeout=60).stdout

    def template(self, release: str, chart: ChartRef, namespace: str, values: dict[str, Any], *,
                 is_upgrade: bool = False, kube_version: str | None = None) -> str:
        # --skip-tests: a release manifest never holds test hooks (templates/tests/ in the official
        # chart); rendering them made every second `up` look like a change.
        args = ["template", release, *chart.args(), "--namespace", namespace, "--values", "-", "--skip-tests"]
        if is_upgrade:
            args.append("--is-upgrade")
        if kube_version:
            args += ["--kube-version", kube_version]
        return self.run(args, stdin=_values_yaml(values)).stdout

    # ------------------------------------------------------------------ changes

    def upgrade_install(self, release: str, chart: ChartRef, namespace: str, values: dict[str, Any], *,
                        timeout: str = "10m", create_namespace: bool = False) -> dict[str, Any]:
        """`helm upgrade --install` without --wait (we wait ourselves, with explanations)."""
        args = ["upgrade", "--install", release, *chart.args(), "--namespace", namespace, "--values", "-",
                "--timeout", timeout, "--output", "json", "--reset-values"]
        if create_namespace:
            args.append("--create-namespace")
        out = self.run(args, stdin=_values_yaml(values)).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            return {}

    def uninstall(self, release: str, namespace: str) -> bool:
        proc = self.run(["uninstall", release, "--namespace", namespace], check=False, timeout=300)
        if proc.returncode != 0:
            if "not found" in proc.stderr.lower():
                return False
            raise HelmError(f"helm uninstall {release} failed: {scrub(proc.stderr.strip())}", _hint(proc.stderr))
        return True


def _values_yaml(values: dict[str, Any]) -> str:
    return yaml.safe_dump(values, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096)


def _hint(stderr: str) -> str | None:
    s = stderr.lower()
    if "master" in s and "deprecat" in s:
        return "the chart rejects master.* keys; jenkins-kit emits controller.* only, check --chart"
    if "kubernetes cluster unreachable" in s or "connection refused" in s:
        return "check cluster.kubeconfig/context (jenkins-kit doctor)"
    if "failed to download" in s or "no such host" in s or "repo" in s and "not found" in s:
        return "no access to the chart repository? pass --chart PATH with a downloaded chart archive (helm pull jenkins --repo https://charts.jenkins.io --version X)"
    if "another operation" in s and "in progress" in s:
        return "a previous helm operation was interrupted; 'helm rollback' or 'helm history' the release"
    return None


def parse_manifest(text: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Helm's multi-document output keyed by (kind, namespace, name), hooks left out.

    Helm stores hooks apart from the release manifest (pkg/action: ``releaseutil.SortManifests``
    splits them off), while ``helm template`` prints them; comparing them would be a phantom diff.
    """
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for doc in yaml.safe_load_all(text or ""):
        if not isinstance(doc, dict) or "kind" not in doc:
            continue
        meta = doc.get("metadata") or {}
        if "helm.sh/hook" in (meta.get("annotations") or {}):
            continue
        out[(doc["kind"], meta.get("namespace") or "", meta.get("name") or "")] = doc
    return out
