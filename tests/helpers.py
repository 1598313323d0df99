"""Small helpers shared by tests: config building and parsing of what we render."""

from __future__ import annotations

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
