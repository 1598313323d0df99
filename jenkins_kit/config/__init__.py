"""The lab config: schema (schema.py), positioned loading (loader.py), starter file (starter.py)."""

from jenkins_kit.config.loader import load_config, load_config_text
from jenkins_kit.config.schema import LabConfig

__all__ = ["LabConfig", "load_config", "load_config_text"]
