"""Every config field is documented in docs/config.md, and the starter config is valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from jenkins_kit.config import load_config
from jenkins_kit.config.schema import JobOptions, LabConfig, SecretRef
from tests.helpers import ROOT


def _submodel(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        sub = _submodel(field.annotation)
        if sub is SecretRef:
            out.append(path)  # its keys are documented once under "Secret references"
            continue
        if sub is JobOptions and prefix == "jobs":
            out.append(path)  # same fields as repositories[].job
            continue
        if sub is not None and "list[" in str(field.annotation):
            out.append(path)  # a list of sections: the list itself has a row
            path += "[]"
        elif sub is None:
            out.append(path)  # a leaf; plain sections are headings, not rows
        if sub is not None:
            out.extend(_paths(sub, path))
    return out


def test_every_field_is_documented() -> None:
    doc = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    missing = [p for p in _paths(LabConfig) if f"| `{p}` |" not in doc]
    assert missing == [], f"document these fields in docs/config.md: {missing}"
    for key in SecretRef.model_fields:
        assert f"| `<secret>.{key}" in doc


def test_init_writes_a_valid_starter_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "jenkins-kit.yaml"
    run = [sys.executable, "-m", "jenkins_kit", "init", str(target)]
    assert subprocess.run(run, capture_output=True).returncode == 0
    cfg = load_config(target)
    assert cfg.cluster.control_plane_node == "m-k8s"
    assert (cfg.nfs.server, cfg.nfs.path) == ("192.168.1.10", "/nfs_shared/jenkins")
    assert cfg.registry.address == "192.168.1.10:8443"
    assert cfg.metallb is not None and cfg.metallb.addresses == ["192.168.1.11-192.168.1.29"]
    before = target.read_bytes()
    again = subprocess.run(run, capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr and "--force" in again.stderr
    assert target.read_bytes() == before
    ok = subprocess.run([sys.executable, "-m", "jenkins_kit", "config", "validate", "--config", str(target)], capture_output=True)
    assert ok.returncode == 0
