"""The lab config: schema (schema.py), positioned loading (loader.py), starter file (starter.py)."""

from __future__ import annotations

from pathlib import Path

from jenkins_kit.config import loader
from jenkins_kit.config.loader import load_config_text
from jenkins_kit.config.schema import LabConfig

__all__ = ["LabConfig", "load_config", "load_config_text"]


def load_config(path: str | Path) -> LabConfig:
    """Load and validate a config file, then the user JCasC fragments it names (jenkins.jcasc_files, read
    relative to its folder): they go through the same schema gate as jenkins-kit's own fragments."""
    from jenkins_kit.additions import check_fragments

    cfg = loader.load_config(path)
    check_fragments(cfg, Path(path).parent, str(path))
    return cfg
