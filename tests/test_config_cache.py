"""A config that loaded cleanly is not composed again (the 10,000-repository no-op was spending
more on YAML than on Jenkins); anything else takes the full, error-locating path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jenkins_kit.config import loader
from jenkins_kit.config.loader import load_config
from jenkins_kit.errors import ConfigError

LAB = """\
nfs: {server: 192.168.1.10, path: /nfs_shared/jenkins}
registry: {address: "192.168.1.10:8443"}
repositories:
  - name: app
    git: https://git.example.com/org/app.git
    job: {folder: team, keep_builds: 5}
"""


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("JENKINS_KIT_NO_CONFIG_CACHE", raising=False)
    return tmp_path / "cache" / "jenkins-kit" / "config"


def _no_compose(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = yaml.compose

    def counting(*a, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(yaml, "compose", counting)  # config/compose.py calls it through the module
    return calls


def test_second_load_of_the_same_text_skips_yaml(tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "lab.yaml"
    f.write_text(LAB)
    calls = _no_compose(monkeypatch)
    first = load_config(f)
    assert len(calls) == 1 and len(list(cache_home.glob("*.json"))) == 1
    second = load_config(f)
    assert len(calls) == 1 and second == first
    assert second.repositories[0].job.keep_builds == 5

    f.write_text(LAB.replace("keep_builds: 5", "keep_builds: 6"))  # one byte: another key
    assert load_config(f).repositories[0].job.keep_builds == 6 and len(calls) == 2


def test_invalid_config_is_never_cached_and_still_located(tmp_path: Path, cache_home: Path) -> None:
    f = tmp_path / "lab.yaml"
    f.write_text(LAB.replace("keep_builds: 5", "keep_builds: 0"))
    for _ in range(2):
        with pytest.raises(ConfigError) as e:
            load_config(f)
        p = e.value.problems[0]
        assert p.line == 6 and "keep_builds" in p.path
    assert not list(cache_home.glob("*.json"))


def test_a_cached_text_the_schema_now_refuses_is_reported_with_positions(tmp_path: Path, cache_home: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "lab.yaml"
    f.write_text(LAB)
    load_config(f)
    entry = next(cache_home.glob("*.json"))
    entry.write_text(entry.read_text().replace('"keep_builds":5', '"keep_builds":"five"'))  # as if the schema had changed
    calls = _no_compose(monkeypatch)
    assert load_config(f).repositories[0].job.keep_builds == 5  # the cache hit failed validation: full path
    assert len(calls) == 1


def test_no_cache_when_disabled_or_not_plain_json(tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "lab.yaml"
    f.write_text(LAB)
    monkeypatch.setenv("JENKINS_KIT_NO_CONFIG_CACHE", "1")
    load_config(f)
    assert not cache_home.exists()
    monkeypatch.delenv("JENKINS_KIT_NO_CONFIG_CACHE")
    # a value JSON cannot carry (a YAML date) is not cached: the next load composes again
    f.write_text(LAB.replace("keep_builds: 5}", "keep_builds: 5}\n    description: 2026-11-29"))
    with pytest.raises(ConfigError):
        load_config(f)  # the schema wants text there; no cache either way
    assert not list(cache_home.glob("*.json")) if cache_home.exists() else True


def test_data_json_cannot_carry_is_not_cached(cache_home: Path) -> None:
    import datetime

    loader._cache_put(cache_home / "x.json", {"when": datetime.date(2026, 11, 29)})
    assert not (cache_home / "x.json").exists()


def test_a_cache_hit_does_not_import_yaml(tmp_path: Path, cache_home: Path) -> None:
    """The point of the cache on every command after the first: importing PyYAML alone costs ~10 ms,
    more than the rest of a hit. Asked of a fresh interpreter, since this one has imported it long ago."""
    import json
    import os
    import subprocess
    import sys

    f = tmp_path / "lab.yaml"
    f.write_text(LAB)
    probe = ("import json, sys\nfrom jenkins_kit.config import load_config\ncfg = load_config(sys.argv[1])\n"
             "print(json.dumps([cfg.repositories[0].job.keep_builds, 'yaml' in sys.modules]))")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("JENKINS_KIT_NO_CONFIG_CACHE", None)

    def run() -> list:
        out = subprocess.run([sys.executable, "-c", probe, str(f)], env=env, capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)

    assert run() == [5, True]  # the first load composes the text
    assert run() == [5, False]  # the second is served from the cache without PyYAML
    f.write_text(LAB.replace("keep_builds: 5", "keep_builds: 7"))
    assert run() == [7, True]
