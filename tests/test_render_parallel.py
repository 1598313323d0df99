"""Rendering on every core (render/parallel.py), through `jenkins-kit jobs render` in its own process
(the test process has other threads, where the render stays serial by design): the same files, and
the same first error, as a serial render."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
H = "nfs: {server: 192.168.1.10, path: /nfs_shared/jenkins}\nregistry: {address: 192.168.1.10:8443}\n"
N = 400  # above PARALLEL_FROM


def _conf(path: Path, bad: dict[int, str] | None = None) -> Path:
    rows = []
    for i in range(N):
        desc = (bad or {}).get(i, f"repository {i}")
        rows.append(f"  - {{name: r{i:03d}, git: 'https://e.com/r{i}.git', description: \"{desc}\", job: {{folder: f{i % 9}}}}}\n")
    path.write_text(H + "repositories:\n" + "".join(rows))
    return path


def _render(conf: Path, out: Path, processes: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "JENKINS_KIT_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["JENKINS_KIT_NO_CONFIG_CACHE"] = "1"
    if processes:
        env["JENKINS_KIT_RENDER_PROCESSES"] = processes
    return subprocess.run([sys.executable, "-m", "jenkins_kit", "jobs", "render", "-c", str(conf), "--out", str(out)],
                          capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jobs render in forks on Linux only; elsewhere it is serial")
def test_forked_render_writes_exactly_what_a_serial_one_does(tmp_path: Path) -> None:
    conf = _conf(tmp_path / "c.yaml")
    serial, forked = _render(conf, tmp_path / "serial", "1"), _render(conf, tmp_path / "forked", "3")
    assert serial.returncode == 0 and forked.returncode == 0, serial.stderr + forked.stderr
    a, b = _files(tmp_path / "serial"), _files(tmp_path / "forked")
    assert len(a) == 9 + 2 * N + 1 and a == b  # folders, two files a job, the manifest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jobs render in forks on Linux only; elsewhere it is serial")
def test_the_first_error_is_the_serial_ones_wherever_the_forks_meet_theirs(tmp_path: Path) -> None:
    """A user template that fails on some repositories only (the config itself is valid, so only the
    render can tell), in the last share and in the middle one: the error names the earlier repository
    and the template's line, as a serial render would, and nothing is written."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    text = (REPO / "job_templates" / "pipeline.config.xml.j2").read_text()
    tag = "<keepDependencies>false</keepDependencies>"
    assert tag in text
    (tpl / "pipeline.config.xml.j2").write_text(
        text.replace(tag, '<keepDependencies>{{ repo.nope if repo.name in ("r250", "r390") else "false" }}</keepDependencies>'))
    conf = _conf(tmp_path / "c.yaml")
    conf.write_text(conf.read_text().replace("repositories:", f"jobs: {{templates_dir: {tpl}}}\nrepositories:"))
    serial, forked = _render(conf, tmp_path / "serial", "1"), _render(conf, tmp_path / "forked", "3")
    assert serial.returncode == forked.returncode == 16, forked.stderr
    assert "repositories[250] (r250)" in forked.stderr and "pipeline.config.xml.j2:6" in forked.stderr, forked.stderr
    assert "390" not in forked.stderr and forked.stderr == serial.stderr and "Traceback" not in forked.stderr
    assert not (tmp_path / "forked").exists() and not (tmp_path / "serial").exists()


_SCRIPT = r"""
import os, sys, time
import jenkins_kit.render.parallel as par
import jenkins_kit.render.jobs as rjm
from jenkins_kit.config import load_config
from jenkins_kit.render.jobs import render_all, render_jobs

cfg = load_config(sys.argv[1])
serial = [(j.config_xml, j.jenkinsfile) for j in render_jobs(cfg, lazy=True)]
how, parent, count = sys.argv[2], os.getpid(), [0]
real = rjm.RenderedJob._materialize
def materialize(self):
    if os.getpid() != parent and not self.rendered:  # in a copy: its tenth job is its last
        count[0] += 1
        if count[0] == 10:
            if how == "dies":
                os._exit(3)
            time.sleep(3600)  # stuck: the parent must stop it
    real(self)
rjm.RenderedJob._materialize = materialize
par._GRACE_S = 1.0
assert par.can_fork()
jobs = render_jobs(cfg, lazy=True)
t = time.monotonic()
render_all(jobs)
assert [(j.config_xml, j.jenkinsfile) for j in jobs] == serial
print("same", round(time.monotonic() - t, 1))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jobs render in forks on Linux only; elsewhere it is serial")
@pytest.mark.parametrize("how", ["dies", "hangs"])
def test_a_copy_that_dies_or_hangs_leaves_its_share_to_the_parent(tmp_path: Path, how: str) -> None:
    """Through the Python API, in a process of its own (no other threads): a copy that exits without
    answering, or never finishes (stopped by PID after the grace time), changes nothing but the time."""
    conf = _conf(tmp_path / "c.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "JENKINS_KIT_"))}
    env.update(PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""), JENKINS_KIT_RENDER_PROCESSES="3")
    p = subprocess.run([sys.executable, "-c", _SCRIPT, str(conf), how], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0 and p.stdout.startswith("same"), p.stdout + p.stderr
    took = float(p.stdout.split()[1])
    assert took < 30 and (how != "hangs" or took >= 1.0)  # a hung copy is waited for (the grace time), then stopped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jobs apply renders ahead in forks on Linux only")
def test_apply_rendering_ahead_sends_what_a_serial_render_would_and_fails_the_same(jenkins_double, tmp_path: Path) -> None:
    """`jobs apply` in its own process (no other threads) starts rendering in forked copies before it
    lists Jenkins (render/jobs.py RenderAhead). A template that fails on one repository still stops it
    with that repository named and nothing sent; fixed, the jobs Jenkins gets are the ones `jobs
    render` writes; and a no-op afterwards sends nothing but the listing."""
    from jenkins_kit.jenkins.xmlnorm import normalize
    from tests.test_jobs_sync import client_for

    d = jenkins_double
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    text = (REPO / "job_templates" / "pipeline.config.xml.j2").read_text()
    tag = "<keepDependencies>false</keepDependencies>"
    (tpl / "pipeline.config.xml.j2").write_text(
        text.replace(tag, '<keepDependencies>{{ repo.nope if repo.name == "r250" else "false" }}</keepDependencies>'))
    conf = _conf(tmp_path / "c.yaml")
    good = conf.read_text()
    conf.write_text(good.replace("repositories:", f"jobs: {{templates_dir: {tpl}}}\nrepositories:"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "JENKINS_KIT_"))}
    env.update(PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""), JENKINS_KIT_NO_CONFIG_CACHE="1",
               JENKINS_URL=d.url, JENKINS_USER_ID=d.user, JENKINS_API_TOKEN=d.token)

    def apply() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jenkins_kit", "jobs", "apply", "-c", str(conf)], capture_output=True,
                              text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)

    d.clear_requests()
    p = apply()
    assert p.returncode == 16 and "repositories[250] (r250)" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not [r for r in d.requests() if r["method"] == "POST"]

    conf.write_text(good)
    p = apply()
    assert p.returncode == 0 and "409 created" in p.stdout, p.stdout + p.stderr
    r = _render(conf, tmp_path / "out", "1")
    assert r.returncode == 0, r.stderr
    c = client_for(d)
    for name in ("f0/r000", "f7/r250", "f3/r399"):
        assert normalize(c.get_text(c.job_url_path(name) + "config.xml")) == normalize((tmp_path / "out" / "jobs" / name / "config.xml").read_text())
    d.clear_requests()
    p = apply()
    assert p.returncode == 0 and p.stdout.startswith("No changes"), p.stdout + p.stderr
    assert len(d.requests()) == 1
