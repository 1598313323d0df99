"""Backup against the Jenkins double over HTTP: quiet-down, waiting for builds, refusing, and the
quiet-down always lifted (success, refusal, a failed write, Ctrl-C and SIGTERM of the real command)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jenkins_kit.backup import BackupError, BuildsStillRunning, backup, verify
from jenkins_kit.jenkins.builds import trigger
from tests.backup_support import AS_ROOT, populate_home
from tests.test_builds_support import client_for, create_job, job_xml, wait_for


@pytest.fixture
def jd(jenkins_double):
    c = client_for(jenkins_double)
    create_job(c, "app", job_xml())
    jenkins_double.client = c
    yield jenkins_double
    c.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    populate_home(h, big=256 * 1024)
    return h


def quieting(d) -> bool:
    return bool(d.client.get_json("", tree="quietingDown")["quietingDown"])


def calls(d, *paths: str) -> list[str]:
    return [f"{r['method']} {r['path'].split('?')[0]}" for r in d.requests()
            if any(r["path"].lstrip("/").startswith(p) for p in paths)]


def start_build(d, ms: int):
    d.set_behaviour("app", duration_ms=ms)
    return trigger(d.client, "app").wait_for_start(timeout=10)


def test_backup_waits_for_a_running_build_then_lifts_quiet_down(jd, home: Path, tmp_path: Path):
    import jenkins as pyjenkins  # python-jenkins: a third-party client referees what the double says

    other = pyjenkins.Jenkins(jd.url, username=jd.user, password=jd.token, timeout=10)
    build = start_build(jd, 1500)
    jd.clear_requests()
    first_byte: list[float] = []
    seen_quiet: list[bool] = []
    r = backup(home, tmp_path / "b", client=jd.client, wait_s=30, poll_s=0.1,
               on_wait=lambda running, left: seen_quiet.append(other.get_info()["quietingDown"]),
               progress=lambda *a: first_byte or first_byte.append(time.time()))
    assert seen_quiet and all(seen_quiet) and other.get_info()["quietingDown"] is False
    q = r.jenkins
    assert q.running_at_start == ["app #1"] and q.still_running == [] and q.waited_s > 0.3
    assert q.quieted and q.lifted and not q.was_quieting and not quieting(jd)
    info = build.info()
    assert info["result"] == "SUCCESS"
    assert (info["timestamp"] + info["duration"]) / 1000.0 <= first_byte[0] + 0.05  # archived after the build ended
    seq = calls(jd, "quietDown", "cancelQuietDown", "computer/api/json")
    assert seq[0] == "POST /quietDown" and seq[-1] == "POST /cancelQuietDown"
    assert seq.count("GET /computer/api/json") >= 2
    # what Jenkins said goes into the manifest
    m = r.manifest
    assert m["jenkins_version"] == jd.version
    names = [p["shortName"] for p in jd.client.get_json("pluginManager/api/json", tree="plugins[shortName]")["plugins"]]
    assert sorted(p["name"] for p in m["plugins"]) == sorted(names) and names
    assert verify(r.archive).ok


def test_builds_still_running_refuse_the_backup_and_lift(jd, home: Path, tmp_path: Path):
    start_build(jd, 8000)
    dest = tmp_path / "b"
    with pytest.raises(BuildsStillRunning, match=r"1 build\(s\) still running after waiting 0.5s: app #1; no backup written"):
        backup(home, dest, client=jd.client, wait_s=0.5, poll_s=0.1)
    assert not quieting(jd)
    assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]
    assert calls(jd, "cancelQuietDown") == ["POST /cancelQuietDown"]


def test_builds_still_running_proceed_when_told(jd, home: Path, tmp_path: Path):
    start_build(jd, 8000)
    r = backup(home, tmp_path / "b", client=jd.client, wait_s=0.3, poll_s=0.1, on_timeout="proceed")
    assert r.jenkins.still_running == ["app #1"] and r.jenkins.lifted and not quieting(jd)
    assert Path(r.archive).is_file()


def test_quiet_down_lifted_when_the_write_is_interrupted(jd, home: Path, tmp_path: Path):
    dest = tmp_path / "b"

    def ctrl_c(*_a):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup(home, dest, client=jd.client, wait_s=5, progress=ctrl_c)
    assert not quieting(jd)
    assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]


@pytest.mark.skipif(not AS_ROOT, reason="mounting a small tmpfs needs root")
def test_quiet_down_lifted_when_the_disk_is_full(jd, tmp_path: Path):
    home = tmp_path / "home"
    populate_home(home, big=2 * 1024 * 1024)
    dest = tmp_path / "small"
    dest.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(dest)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        with pytest.raises(BackupError, match="no space left"):
            backup(home, dest, client=jd.client, wait_s=5)
        assert not quieting(jd) and calls(jd, "cancelQuietDown") == ["POST /cancelQuietDown"]
        assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]
    finally:
        subprocess.run(["umount", str(dest)], check=True)


def test_an_administrators_quiet_down_is_left_as_found(jd, home: Path, tmp_path: Path):
    import jenkins as pyjenkins

    pyjenkins.Jenkins(jd.url, username=jd.user, password=jd.token, timeout=10).quiet_down()  # an administrator did this
    jd.clear_requests()
    r = backup(home, tmp_path / "b", client=jd.client, wait_s=5)
    assert r.jenkins.was_quieting and not r.jenkins.lifted
    assert quieting(jd) and calls(jd, "quietDown", "cancelQuietDown") == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_interrupted_while_waiting_lifts_quiet_down(jd, home: Path, tmp_path: Path, sig: int):
    start_build(jd, 30000)
    dest = tmp_path / "b"
    env = {**os.environ, "JENKINS_URL": jd.url, "JENKINS_USER_ID": jd.user, "JENKINS_API_TOKEN": jd.token}
    proc = subprocess.Popen([sys.executable, "-m", "jenkins_kit", "backup", "--home", str(home), "--dest", str(dest),
                             "--wait", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: quieting(jd), timeout=30, interval=0.05)
        time.sleep(0.3)  # into the wait loop
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 11, err
    assert "backup interrupted" in err and "quiet-down lifted" in err and "Traceback" not in err
    assert not quieting(jd)
    assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]


def test_the_command_with_jenkins_unreachable_writes_nothing(home: Path, tmp_path: Path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    env = {**os.environ, "JENKINS_URL": f"http://127.0.0.1:{port}/", "JENKINS_USER_ID": "admin", "JENKINS_API_TOKEN": "t0ken-x"}
    dest = tmp_path / "b"
    proc = subprocess.run([sys.executable, "-m", "jenkins_kit", "backup", "--home", str(home), "--dest", str(dest)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "cannot connect" in proc.stderr and "t0ken-x" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not dest.exists() or [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]


@pytest.mark.skipif(not AS_ROOT, reason="owners are part of the comparison")
def test_cli_backup_then_restore_gives_an_identical_tree(jd, home: Path, tmp_path: Path):
    """The commands as the user runs them: config with nfs.path under --root, credentials in the env."""
    from tests.backup_support import EXCLUDED_BY_DEFAULT, snapshot

    root = tmp_path / "root"
    (root / "nfs_shared").mkdir(parents=True)
    home.rename(root / "nfs_shared" / "jenkins")
    cfg = tmp_path / "jenkins-kit.yaml"
    cfg.write_text("version: 1\nnfs: {server: 127.0.0.1, path: /nfs_shared/jenkins}\nregistry: {address: '127.0.0.1:5000'}\n")
    env = {**os.environ, "JENKINS_URL": jd.url, "JENKINS_USER_ID": jd.user, "JENKINS_API_TOKEN": jd.token}
    b = subprocess.run([sys.executable, "-m", "jenkins_kit", "backup", "-c", str(cfg), "--root", str(root), "--keep", "1"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert b.returncode == 0, b.stderr
    assert "quieted down, then lifted" in b.stdout and not quieting(jd)
    archive = next((root / "var" / "backups" / "jenkins-kit").glob("jenkins-kit-backup-*.tar.gz"))
    target = tmp_path / "other" / "nfs_shared" / "jenkins"
    r = subprocess.run([sys.executable, "-m", "jenkins_kit", "restore", str(archive), "-c", str(cfg), "--root", str(tmp_path / "other")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "with their owners" in r.stdout and "next: jenkins-kit up" in r.stdout
    assert snapshot(target) == snapshot(root / "nfs_shared" / "jenkins", skip=EXCLUDED_BY_DEFAULT)


def test_a_user_without_manage_permission_gets_a_clear_refusal(jd, home: Path, tmp_path: Path):
    from jenkins_kit.jenkins.errors import PermissionDeniedError

    jd.add_user("dev", token="dev-token-123", role="developer")
    dev = client_for(type("D", (), {"url": jd.url, "user": "dev", "token": "dev-token-123"})())
    dest = tmp_path / "b"
    with pytest.raises(PermissionDeniedError) as e:
        backup(home, dest, client=dev, wait_s=5)
    assert "403 user 'dev' lacks the permission" in e.value.message and e.value.exit_code == 14
    assert not quieting(jd) and calls(jd, "cancelQuietDown") == []  # nothing to lift, and no misleading "still quiet"
    assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]
    dev.close()
