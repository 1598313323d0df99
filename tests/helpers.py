"""Small helpers shared by tests: config building and parsing of what we render."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from jenkins_kit.config import load_config_text
from jenkins_kit.config.schema import LabConfig

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "lab" / "jenkins-kit.yaml"
SHARED = ROOT.parent / "shared"


def sample_config() -> LabConfig:
    return load_config_text(SAMPLE.read_text(encoding="utf-8"), str(SAMPLE))


def config_with(**sections: Any) -> LabConfig:
    """The sample config with top-level sections replaced/merged (dicts merge one level deep)."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return LabConfig.model_validate(data)


def java_home() -> str | None:
    """JAVA_HOME for Debian's groovy: the environment's, else the machine's Java 17."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    for d in ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/default-java"):
        if Path(d).is_dir():
            return d
    return None


def groovy_batch(script: Path, texts: dict[str, str]) -> dict[str, Any]:
    """Run a Groovy script over every text in one JVM (one file per text in a temp folder); the
    script prints a JSON object keyed by file name. Returns name -> that script's result."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        names = {}
        for i, (name, text) in enumerate(texts.items()):
            fn = f"f{i:05d}.groovy"
            names[fn] = name
            Path(d, fn).write_text(text, encoding="utf-8")
        env = dict(os.environ, JAVA_HOME=java_home() or "")
        p = subprocess.run(["groovy", str(script), d], check=False, capture_output=True, env=env, timeout=600)
        if p.returncode != 0:
            raise AssertionError(f"groovy failed: {p.stderr.decode(errors='replace')[-2000:]}")
        raw = json.loads(p.stdout.decode("utf-8"))
        return {names[k]: v for k, v in raw.items()}


def until(pred: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `pred` until it returns something truthy (returned), bounded by `timeout` seconds."""
    import time

    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("condition not reached")


def agent_kubectl(tmp_path: Path, kubectl: str, cfg: LabConfig) -> Path:
    """A folder to put first on PATH whose `kubectl` is the real one acting as the agent ServiceAccount
    (`--as`), so a pipeline's kubectl steps run with exactly the RBAC the agent pods get."""
    shim = tmp_path / "bin"
    shim.mkdir()
    sa = f"system:serviceaccount:{cfg.agents.namespace}:{cfg.agents.service_account}"
    (shim / "kubectl").write_text(f'#!/bin/sh\nexec "{kubectl}" --as="{sa}" "$@"\n')
    (shim / "kubectl").chmod(0o755)
    return shim
