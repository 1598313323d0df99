"""Shared pytest setup. Fixture modules owned by each area are loaded as plugins when present."""

import importlib.util

_PLUGINS = [
    "tests.jenkins_double.fixtures",
    "tests.cluster.fixtures",
]

pytest_plugins = [m for m in _PLUGINS if importlib.util.find_spec(m) is not None]
