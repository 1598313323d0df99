"""Where the official charts and a helm binary are, for tests that render or install them.

The charts are the upstream packages in ``../shared/charts`` (see its README); a clone without
``../shared`` skips these tests with a reason naming what is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SHARED

JENKINS_CHART = SHARED / "charts" / "jenkins-5.9.53.tgz"
METALLB_CHART = SHARED / "charts" / "metallb-0.15.2.tgz"


def require_chart(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"official chart {path.name} not available: {path} is missing (no ../shared beside the checkout)")
    return path


def helm_binary() -> str | None:
    """JENKINS_KIT_HELM, else the one scripts/build-tools built, else helm on PATH."""
    env = os.environ.get("JENKINS_KIT_HELM")
    if env and os.access(env, os.X_OK):
        return env
    try:
        out = subprocess.run(["bash", str(Path(__file__).resolve().parents[1] / "scripts" / "build-tools"), "--bin-dir"],
                             capture_output=True, text=True, timeout=30)
        built = Path(out.stdout.strip()) / "helm"
        if out.returncode == 0 and os.access(built, os.X_OK):
            return str(built)
    except (OSError, subprocess.SubprocessError):
        pass
    return shutil.which("helm")


def require_helm() -> str:
    h = helm_binary()
    if h is None:
        pytest.skip("no helm binary (scripts/build-tools builds one)")
    return h
