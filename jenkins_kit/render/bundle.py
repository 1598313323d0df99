"""The whole offline bootstrap bundle: every file Jenkins, Kubernetes and the NFS host receive."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.render.helm_values import render_values
from jenkins_kit.render.jcasc import render_jcasc
from jenkins_kit.render.jobs import render_jobs
from jenkins_kit.render.manifests import manifest_filename, render_manifests, render_metallb, to_yaml
from jenkins_kit.render.nfs import export_line, host_script


@dataclass(frozen=True)
class Bundle:
    """Relative path → text. Paths use '/', order is the order files are listed to users."""

    files: dict[str, str] = field(default_factory=dict)

    def sha256(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.files):
            h.update(path.encode() + b"\0" + self.files[path].encode() + b"\0")
        return h.hexdigest()


def render_bundle(cfg: LabConfig, base_dir: Path | None = None) -> Bundle:
    """`base_dir` is the config file's folder: relative paths in the config (templates) resolve there."""
    files: dict[str, str] = {}
    for i, m in enumerate(render_manifests(cfg)):
        files[f"k8s/{manifest_filename(i, m)}"] = to_yaml(m)
    # After the MetalLB chart (its CRDs): kubectl apply -f metallb/
    for i, m in enumerate(render_metallb(cfg)):
        files[f"metallb/{manifest_filename(i, m)}"] = to_yaml(m)
    jcasc = render_jcasc(cfg, base_dir)
    for name, text in jcasc.items():
        files[f"jcasc/{name}.yaml"] = text
    files["helm/values.yaml"] = (
        f"# Values for the official jenkins chart {cfg.jenkins.chart_version} (rendered by jenkins-kit).\n"
        f"# helm upgrade --install {cfg.jenkins.release} jenkins/jenkins --version {cfg.jenkins.chart_version}"
        f" -n {cfg.cluster.namespace} -f values.yaml\n" + to_yaml(render_values(cfg, jcasc))
    )
    for job in render_jobs(cfg, base_dir=base_dir):
        base = f"jobs/{job.full_name}"
        files[f"{base}/config.xml"] = job.config_xml
        if job.jenkinsfile is not None:
            files[f"{base}/Jenkinsfile"] = job.jenkinsfile
    files["nfs/exports"] = export_line(cfg) + "\n"
    files["nfs/setup.sh"] = host_script(cfg)
    return Bundle(files)


MANIFEST = ".jenkins-kit-bundle"  # the files the last render wrote: only those are ever removed


class BundleConflict(KitError):
    """Something in the output folder is in the way (a file where a folder must go, or the reverse)."""

    exit_code = ExitCode.INPUT


def _conflicts(bundle: Bundle, out: Path) -> list[str]:
    problems: list[str] = []
    if out.exists() and not out.is_dir():
        return [f"{out} is a file; the bundle needs a folder there"]
    checked: set[Path] = set()
    for rel in bundle.files:
        target = out / rel
        for parent in reversed(target.relative_to(out).parents[:-1]):
            d = out / parent
            if d in checked:
                continue
            checked.add(d)
            if d.is_symlink() or (d.exists() and not d.is_dir()):
                problems.append(f"{d} is a file (or a link); the bundle needs a folder there")
        if target.is_symlink() or (target.exists() and not target.is_file()):
            problems.append(f"{target} is a folder (or a link); the bundle writes a file there")
    return problems


def _previous(out: Path) -> list[str]:
    try:
        lines = (out / MANIFEST).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return []
    return [ln for ln in lines if ln and not ln.startswith("#") and ".." not in ln.split("/") and not ln.startswith("/")]


def write_bundle(bundle: Bundle, out: Path, scope: str = "") -> list[tuple[str, str]]:
    """Write the bundle into `out`; returns (path, status): created/updated/unchanged/removed.

    All or nothing: conflicts are found before anything is written, changed files are first written
    into a staging folder beside them, and only then moved into place (one rename each). Files the
    previous render wrote (listed in MANIFEST) that this config no longer renders are removed, so
    `kubectl apply -f k8s/` never applies a stale object; files anyone else put there are kept.
    Unchanged files are not touched. Idempotent. `scope` ("jobs/") limits what counts as stale to
    that folder, for commands that write only part of a bundle (`jobs render`).
    """
    problems = _conflicts(bundle, out)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise BundleConflict(f"cannot write the bundle: {shown}", "move those out of the way (nothing was written)")
    results: list[tuple[str, str]] = []
    changed: list[tuple[str, bytes]] = []
    for rel, text in bundle.files.items():
        target = out / rel
        data = text.encode("utf-8")
        if target.is_file():
            if target.read_bytes() == data:
                results.append((rel, "unchanged"))
                continue
            results.append((rel, "updated"))
        else:
            results.append((rel, "created"))
        changed.append((rel, data))
    previous = _previous(out)
    stale = [rel for rel in previous if rel.startswith(scope) and rel not in bundle.files and (out / rel).is_file()]
    kept = {rel for rel in previous if not rel.startswith(scope)}
    manifest = "# Files written by `jenkins-kit render`; a later render removes those it no longer writes.\n" + "".join(
        f"{rel}\n" for rel in sorted(set(bundle.files) | kept)
    )
    fresh = not out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.jenkins-kit-", dir=out.parent))
    try:
        for rel, data in changed + [(MANIFEST, manifest.encode("utf-8"))]:
            t = staging / rel
            t.parent.mkdir(parents=True, exist_ok=True)
            t.write_bytes(data)
            t.chmod(0o755 if rel.endswith(".sh") else 0o644)
        if fresh:  # a new folder appears complete or not at all
            staging.chmod(0o755)
            staging.rename(out)
            return results
        for rel, _ in changed + [(MANIFEST, b"")]:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, out / rel)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    for rel in stale:
        (out / rel).unlink(missing_ok=True)
        results.append((rel, "removed"))
        parent = (out / rel).parent
        while parent != out and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return results
