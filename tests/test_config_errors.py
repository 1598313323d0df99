"""The bad-config corpus: every mistake gets file:line:column, the field path and advice; exit 2."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jenkins_kit.config import load_config
from jenkins_kit.errors import ConfigError

CORPUS = sorted((Path(__file__).parent / "fixtures" / "bad_configs").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\S+) (\S+) :: (.*)$", re.M)


def _expectation(path: Path) -> tuple[str, str, str]:
    m = _EXPECT.search(path.read_text(encoding="utf-8"))
    assert m, f"{path.name} lacks its '# expect:' line"
    return m.group(1), m.group(2), m.group(3)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25


@pytest.mark.parametrize("case", CORPUS, ids=lambda p: p.stem)
def test_bad_config_is_reported_precisely(case: Path) -> None:
    pos, field, text = _expectation(case)
    with pytest.raises(ConfigError) as info:
        load_config(case)
    problems = info.value.problems
    assert problems
    first = problems[0]
    assert first.file == str(case)
    rendered = "\n".join(p.format() for p in problems)
    if pos != "*":
        line, col = (int(x) for x in pos.split(":"))
        assert any((p.line, p.column) == (line, col) for p in problems), rendered
    else:
        assert first.line is not None, rendered
    if field != "*":
        assert any(p.path == field or (field == "<root>" and p.path == "") for p in problems), rendered
    if text != "*":
        assert text in rendered, rendered


def test_cli_reports_without_traceback_and_writes_nothing(tmp_path: Path) -> None:
    case = next(p for p in CORPUS if p.stem == "unknown-nested-key")
    out = tmp_path / "bundle"
    proc = subprocess.run(
        [sys.executable, "-m", "jenkins_kit", "render", "--config", str(case), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 16  # INPUT: tool errors never use 1-4 (build results)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{case}:8:3: jenkins.imagetag: unknown key 'imagetag'" in proc.stderr
    assert "did you mean 'image_tag'?" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("case", CORPUS[:10], ids=lambda p: p.stem)
def test_validate_command_exit_status(case: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jenkins_kit", "config", "validate", "--config", str(case)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 16  # INPUT: tool errors never use 1-4 (build results)
    assert "Traceback" not in proc.stderr
    assert str(case) in proc.stderr


def test_fixed_lb_ip_inside_a_cidr_or_range_of_the_pool_is_accepted(tmp_path: Path) -> None:
    base = "version: 1\nnfs: {server: 192.168.1.10, path: /nfs_shared/jenkins}\nregistry: {address: 192.168.1.10:8443}\n"
    for ip, pool in (("10.0.0.7", "[192.168.1.11-192.168.1.29, 10.0.0.0/28]"), ("192.168.1.29", "[192.168.1.11-192.168.1.29]")):
        p = tmp_path / "c.yaml"
        p.write_text(base + f"jenkins: {{service: {{load_balancer_ip: {ip}}}}}\nmetallb: {{addresses: {pool}}}\n")
        assert load_config(p).jenkins.service.load_balancer_ip == ip
