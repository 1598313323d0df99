"""pytest plugin: the ``jenkins_double`` fixture (loaded by tests/conftest.py when present)."""
from __future__ import annotations

import pytest

from .server import JenkinsDouble

FAST_DEFAULTS = {"quiet_period": 0, "default_duration_ms": 300, "executable_delay_s": 0.02,
                     "left_item_ttl": 300.0, "executors": 2}


@pytest.fixture
def jenkins_double():
    """A started double: user ``admin``, random API token and password, quiet period 0,
    300 ms builds.  Attributes: ``.url .user .token .password``."""
    d = JenkinsDouble(user="admin", **FAST_DEFAULTS)
    d.start()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture
def jenkins_double_factory():
    """Build doubles with custom options: ``jenkins_double_factory(quiet_period=5, ...)``;
    unspecified options take the fast test defaults; all are stopped at teardown."""
    made: list[JenkinsDouble] = []

    def make(**kw) -> JenkinsDouble:
        opts = {**FAST_DEFAULTS, **kw}
        opts.setdefault("user", "admin")
        d = JenkinsDouble(**opts).start()
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()
