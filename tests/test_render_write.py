"""The bundle writer (jenkins_kit/render/write.py) through the CLI: modes, a rerun that writes nothing,
a conflict deep in the tree, and no staging folder left behind in any of those cases."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jenkins_kit.cli.main import cli

REPO = Path(__file__).resolve().parents[1]
H = "nfs: {server: 192.168.1.10, path: /nfs_shared/jenkins}\nregistry: {address: 192.168.1.10:8443}\n"
REPOS = "repositories: [{name: app, git: 'https://e.com/app.git', job: {folder: team}}, {name: two, git: 'https://e.com/two.git'}]\n"


def _conf(tmp_path: Path) -> Path:
    conf = tmp_path / "c.yaml"
    conf.write_text(H + REPOS)
    return conf


def _tree(out: Path) -> dict[str, tuple[int, int]]:
    """Every file under out: (inode, mtime_ns), to tell a file left alone from one rewritten."""
    return {str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}


def _no_staging(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".jenkins-kit-" in p.name]


def test_modes_do_not_depend_on_the_umask_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    conf, out = _conf(tmp_path), tmp_path / "out"
    old = os.umask(0o077)  # a strict umask must not make the bundle unreadable to the tools it is for
    try:
        r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out), "-o", "json"])
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "nfs" / "setup.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "jobs" / "team" / "app" / "config.xml").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "helm" / "values.yaml").stat().st_mode) == 0o644
    before = _tree(out)
    for args in (["render"], ["jobs", "render"]):
        r = CliRunner().invoke(cli, [*args, "-c", str(conf), "--out", str(out), "-o", "json"])
        assert r.exit_code == 0, r.output
        assert _tree(out) == before  # not one file rewritten, the list of files written included
        assert _no_staging(tmp_path)
    doc = json.loads(r.stdout)
    assert doc["removed"] == [] and {j["name"] for j in doc["jobs"]} == {"team", "team/app", "two"}


def test_a_conflict_deep_in_the_tree_writes_nothing(tmp_path: Path) -> None:
    conf, out = _conf(tmp_path), tmp_path / "out"
    assert CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out)]).exit_code == 0
    (out / "jobs" / "two" / "config.xml").unlink()
    (out / "jobs" / "two" / "config.xml").mkdir()  # a folder where the writer must put a file
    conf.write_text(H + REPOS.replace("app.git'", "app.git', description: changed"))
    before = _tree(out)
    r = CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out)])
    assert r.exit_code == 16 and "Traceback" not in r.output
    assert "jobs/two/config.xml is a folder" in r.output and "nothing was written" in r.output
    assert _tree(out) == before and _no_staging(tmp_path)  # team/app/config.xml was not updated either


def test_a_link_where_a_folder_must_go_is_refused(tmp_path: Path) -> None:
    conf, out = _conf(tmp_path), tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "jobs").mkdir(parents=True)
    (out / "jobs" / "team").symlink_to(elsewhere)  # writing through it would write outside --out
    r = CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out)])
    assert r.exit_code == 16 and "jobs/team is a file (or a link)" in r.output
    assert list(elsewhere.iterdir()) == [] and _no_staging(tmp_path)


def _many(n: int, desc: str) -> str:
    rows = "".join(f"  - {{name: r{i:03d}, git: 'https://e.com/r{i}.git', description: '{desc} {i}', job: {{folder: f{i % 7}}}}}\n"
                   for i in range(n))
    return H + "repositories:\n" + rows


def test_a_large_render_on_threads_creates_updates_and_removes_as_one_thread_would(tmp_path: Path) -> None:
    """Above _PARALLEL_FROM files the writer works a folder per task on a few threads; what lands is
    the same: every file, its mode, updated files rewritten and unchanged ones left alone."""
    conf, out = tmp_path / "c.yaml", tmp_path / "out"
    conf.write_text(_many(120, "first"))
    r = CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out), "-o", "json"])
    assert r.exit_code == 0, r.output
    files = [p for p in (out / "jobs").rglob("*") if p.is_file()]
    assert len(files) == 7 + 120 * 2  # a folder's config.xml; a job's config.xml and Jenkinsfile
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
    assert "first 42" in (out / "jobs" / "f0" / "r042" / "config.xml").read_text()
    before = _tree(out)
    # every 10th description changes and the last 20 repositories go
    text = _many(100, "first").replace("first 50'", "second 50'").replace("first 60'", "second 60'")
    conf.write_text(text)
    r = CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out), "-o", "json"])
    assert r.exit_code == 0, r.output
    after = _tree(out)
    assert "second 50" in (out / "jobs" / "f1" / "r050" / "config.xml").read_text()
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {"jobs/f1/r050/config.xml", "jobs/f4/r060/config.xml", ".jenkins-kit-bundle"}
    assert len(json.loads(r.stdout)["removed"]) == 40 and not (out / "jobs" / "f1" / "r113").exists()
    assert _no_staging(tmp_path)
    conf.write_text(_many(100, "third"))  # 100 files rewritten: the move into place runs on threads too
    r = CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out), "-o", "json"])
    assert r.exit_code == 0, r.output
    third = _tree(out)
    assert {k for k in third if third[k] != after[k]} - {".jenkins-kit-bundle"} == {f"jobs/f{i % 7}/r{i:03d}/config.xml" for i in range(100)}
    assert all("third" in (out / k).read_text() for k in third if k.endswith("config.xml") and "/r" in k)
    assert _no_staging(tmp_path)


_COPY_FAILS = r"""
import os, sys, time
from pathlib import Path
from types import SimpleNamespace
import jenkins_kit.render.parallel as par
import jenkins_kit.render.write as w

how, out = sys.argv[1], Path(sys.argv[2])
files = {f"jobs/f{i % 7}/r{i:03d}/{n}": f"{n} of r{i}\n" * 50 for i in range(300) for n in ("config.xml", "Jenkinsfile")}
parent, real, done = os.getpid(), w._write_staged, []
def write_staged(path, data, mode):
    if os.getpid() != parent:  # in the forked copy
        if len(done) == 5:
            if how == "dies":
                os._exit(3)
            if how == "raises":
                raise OSError(28, "No space left on device")
            time.sleep(3600)  # stuck: the parent must stop it
        done.append(path)
    real(path, data, mode)
w._write_staged = write_staged
par._GRACE_S = 1.0
assert par.can_fork()
t = time.monotonic()
statuses = w.write_bundle(SimpleNamespace(files=files), out)
got = {str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file() and p.name != w.MANIFEST}
assert got == files and {s for _, s in statuses} == {"created"}, (len(got), len(files))
print("same", round(time.monotonic() - t, 1))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the writer forks on Linux only")
@pytest.mark.parametrize("how", ["dies", "raises", "hangs"])
def test_a_writer_copy_that_fails_halfway_leaves_its_half_to_the_parent(tmp_path: Path, how: str) -> None:
    """Through the Python API, in a process of its own (no other threads, so the writer forks): the
    copy writes five files of its half and then dies, fails, or never finishes (stopped by PID after
    the grace time); the parent writes that half again over what the copy left, and the bundle is
    whole, with nothing staged left behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "JENKINS_KIT_"))}
    env.update(PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""), JENKINS_KIT_RENDER_PROCESSES="2")
    p = subprocess.run([sys.executable, "-c", _COPY_FAILS, how, str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert p.returncode == 0 and p.stdout.startswith("same"), p.stdout + p.stderr
    assert float(p.stdout.split()[1]) < 30 and _no_staging(tmp_path)
