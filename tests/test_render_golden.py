"""Fixture-driven: each folder under tests/fixtures/render holds a lab config and the exact bundle
it must render to. Regenerate with JENKINS_KIT_REGEN_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from jenkins_kit.config import load_config
from jenkins_kit.render.bundle import render_bundle

CASES = sorted(p for p in (Path(__file__).parent / "fixtures" / "render").iterdir() if p.is_dir())
REGEN = os.environ.get("JENKINS_KIT_REGEN_GOLDEN") == "1"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_bundle_matches_golden_files(case: Path) -> None:
    cfg_path = case / "jenkins-kit.yaml"
    bundle = render_bundle(load_config(cfg_path), base_dir=case)
    expected_dir = case / "expected"
    if REGEN:
        for old in sorted(expected_dir.rglob("*"), reverse=True) if expected_dir.exists() else []:
            old.unlink() if old.is_file() else old.rmdir()
        for rel, text in bundle.files.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_text(text, encoding="utf-8")
    expected = {str(p.relative_to(expected_dir)): p.read_text(encoding="utf-8") for p in expected_dir.rglob("*") if p.is_file()}
    assert sorted(bundle.files) == sorted(expected)
    for rel, text in bundle.files.items():
        assert text == expected[rel], f"{case.name}/{rel} differs from the golden file"
    cfg = load_config(cfg_path)
    for rel, text in bundle.files.items():
        if rel.startswith("k8s/"):
            kubernetes_validate.validate(yaml.safe_load(text), cfg.cluster.kubernetes_version, strict=True)
