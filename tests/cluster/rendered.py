"""The project's own rendered Kubernetes manifests, for applying to the lab cluster.

``render_lab_manifests`` runs ``jenkins-kit render --config examples/lab/jenkins-kit.yaml`` and
returns the documents of ``<out>/k8s/*.yaml``. It returns None when this checkout has no render
step yet (tests then fall back to manifests of their own); once the render step exists, a failing
render is an error, not a silent fallback.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB_CONFIG = REPO / "examples" / "lab" / "jenkins-kit.yaml"


def render_available() -> bool:
    return (
        importlib.util.find_spec("jenkins_kit.render") is not None
        and importlib.util.find_spec("yaml") is not None
        and LAB_CONFIG.exists()
    )


def render_lab_manifests(
    out: Path, config: Path = LAB_CONFIG
) -> dict[Path, list[dict]] | None:
    """{manifest file: [documents]} for every ``k8s/*.yaml`` the render step wrote."""
    if not render_available():
        return None
    import yaml

    argv = [sys.executable, "-m", "jenkins_kit", "render", "--config", str(config)]
    proc = subprocess.run(
        [*argv, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"jenkins-kit render failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    files = sorted((Path(out) / "k8s").glob("*.yaml"))
    if not files:
        raise RuntimeError(f"jenkins-kit render wrote no k8s/*.yaml under {out}")
    return {f: [d for d in yaml.safe_load_all(f.read_text()) if d] for f in files}


def find(
    manifests: dict[Path, list[dict]], kind: str, name: str | None = None
) -> list[dict]:
    return [
        d
        for docs in manifests.values()
        for d in docs
        if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)
    ]
