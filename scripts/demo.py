"""The README's first command: the main job on the sample lab, step by step, each step labelled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "lab" / "jenkins-kit.yaml"
OUT = Path(os.environ.get("JENKINS_KIT_DEMO_OUT", ROOT / "out" / "lab-bundle"))


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def kit(*args: str) -> int:
    cmd = [sys.executable, "-m", "jenkins_kit", *args]
    print("$ jenkins-kit " + " ".join(args), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def main() -> int:
    step("1. validate the sample lab config")
    if kit("config", "validate", "--config", str(CONFIG)):
        return 1
    step(f"2. render the bootstrap bundle into {OUT}")
    if kit("render", "--config", str(CONFIG), "--out", str(OUT)):
        return 1
    print(f"\nBundle written to {OUT}:")
    for sub, what in [
        ("k8s", "Kubernetes manifests (kubectl apply -f)"),
        ("helm/values.yaml", "values for the official jenkins chart"),
        ("jcasc", "Configuration-as-Code fragments"),
        ("jobs", "job config.xml + Jenkinsfile per repository"),
        ("nfs", "the /etc/exports line and a script for the NFS host"),
    ]:
        print(f"  {OUT / sub}  - {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
