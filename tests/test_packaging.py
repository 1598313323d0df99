"""A non-editable install works from anywhere: templates ship inside the wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, SAMPLE


@pytest.mark.slow
def test_wheel_install_renders_from_another_folder(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True,
    )
    wheel = next(dist.glob("jenkins_labkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("jenkins_kit/_data/jcasc/") for n in names)
    assert any(n.startswith("jenkins_kit/_data/job_templates/") for n in names)
    assert "jenkins_kit/config/starter.yaml" in names
    # the schema gate's and the user-addition checks' vendored data
    assert {"jenkins_kit/schemas/jcasc.json", "jenkins_kit/schemas/jenkins-chart-values-5.9.53.json"} <= set(names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cfg = elsewhere / "lab.yaml"
    cfg.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    out = subprocess.run(
        [str(env_dir / "bin" / "jenkins-kit"), "render", "--config", "lab.yaml", "--out", "bundle", "--json"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    files = {f["path"] for f in json.loads(out.stdout)["files"]}
    assert "jcasc/jenkins-kit-cloud.yaml" in files
    assert any(p.startswith("jobs/") and p.endswith("/Jenkinsfile") for p in files)
    # The installed copy renders exactly what the source tree renders.
    src = subprocess.run(
        [sys.executable, "-m", "jenkins_kit", "render", "--config", str(cfg), "--out", str(tmp_path / "src-bundle"), "--json"],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )
    assert json.loads(src.stdout)["sha256"] == json.loads(out.stdout)["sha256"]


def test_render_benchmark_runs_in_reduced_size() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "render_bundle.py"), "--repos", "50", "--rounds", "1", "--json"],
        check=True, capture_output=True, text=True,
    )
    result = json.loads(out.stdout)
    assert result["repos"] == 50 and result["files"] > 100
