"""The whole offline bootstrap bundle: every file Jenkins, Kubernetes and the NFS host receive."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.render.helm_values import render_values
from jenkins_kit.render.jcasc import render_jcasc
from jenkins_kit.render.jobs import render_jobs
from jenkins_kit.render.manifests import manifest_filename, render_manifests, render_metallb, to_yaml
from jenkins_kit.render.nfs import export_line, host_script

# The writer lives in render/write.py (so `jobs render` need not import the renderers above);
# re-exported here, where callers have always found it.
from jenkins_kit.render.write import MANIFEST, BundleConflict, write_bundle


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


__all__ = ["MANIFEST", "Bundle", "BundleConflict", "render_bundle", "write_bundle"]
