"""`backup`, `backup verify` and `restore` on real directories (no Jenkins: --no-quiesce / client=None).

Runs as root where it can (ownership is part of "identical"); the tests that need root skip otherwise.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from jenkins_kit.backup import (
    DEFAULT_EXCLUDES,
    ArchiveInvalid,
    BackupError,
    BackupUsageError,
    Excluder,
    RestoreError,
    TargetNotEmpty,
    backup,
    read_header,
    restore,
    verify,
)
from jenkins_kit.cli.main import cli
from tests.backup_support import AS_ROOT, EXCLUDED_BY_DEFAULT, populate_home, snapshot

needs_root = pytest.mark.skipif(not AS_ROOT, reason="owners and chown need root")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "nfs_shared" / "jenkins"
    populate_home(h)
    return h


def test_default_excludes_match_what_jenkins_rebuilds_and_nothing_else():
    ex = Excluder.of(DEFAULT_EXCLUDES)
    rebuilt = ["workspace", "jobs/app/workspace", "jobs/app/workspace@tmp", "jobs/f/jobs/app/workspace",
               "jobs/f/jobs/g/jobs/app/workspace@libs", "jobs/mb/branches/main/workspace", "caches", ".cache",
               "war", "plugins/git", "updates"]
    for rel in rebuilt:
        assert ex.match(rel, True), rel
    kept = [("jobs/f/jobs/workspace", True),          # a job named "workspace"
            ("jobs/workspace", True), ("jobs/app/builds/1/workspace", False), ("plugins/git.jpi", False),
            ("plugins/git.jpi.pinned", False), ("workspace", False), ("secrets", True), ("jobs/app/builds", True),
            ("userContent/war", True)]
    for rel, is_dir in kept:
        assert ex.match(rel, is_dir) is None, rel
    with pytest.raises(ValueError):
        Excluder.of(["../etc/"])


@needs_root
def test_round_trip_restores_an_identical_tree(home: Path, tmp_path: Path):
    dest = tmp_path / "backups"
    r = backup(home, dest)
    assert Path(r.archive).parent == dest and not [p for p in dest.iterdir() if p.name.endswith(".partial")]
    assert oct(os.stat(r.archive).st_mode & 0o777) == "0o600" and oct(dest.stat().st_mode & 0o777) == "0o700"
    m = r.manifest
    assert m["jenkins_version"] == "2.492.3" and m["jenkins_kit_version"]
    assert {p["name"]: p["version"] for p in m["plugins"]} == {"git": "5.7.0", "workflow-job": "1540.v295eccc9778f"}
    assert set(r.excluded) == {e + "/" for e in EXCLUDED_BY_DEFAULT} | {"workspace/"}
    assert m["file_count"] == len(m["files"]) and "secrets/master.key" in m["files"]
    assert m["symlinks"]["jobs/app/builds/lastSuccessfulBuild"] == "2"
    assert [w for w in r.warnings if "not owned by 1000:1000" in w] == [
        "1 entry not owned by 1000:1000 (archived and restored as they are, which Jenkins may not be able to write): "
        "userContent/run me.sh; 'jenkins-kit nfs export --chown-recursive' fixes the home"]
    # plain tar reads it; owners are numeric
    with tarfile.open(r.archive) as tf:
        names = tf.getnames()
        assert names[0] == "jenkins-kit-backup.json" and names[-1] == "jenkins-kit-manifest.json"
        assert tf.getmember("home/secrets/master.key").uid == 1000

    target = tmp_path / "restored"
    target.mkdir()
    res = restore(r.archive, target)
    assert res.chowned and res.next_step == "jenkins-kit up"
    before = snapshot(home, skip=EXCLUDED_BY_DEFAULT)
    after = snapshot(target)
    assert after == before
    # spot checks of what "identical" covers
    assert os.readlink(target / "jobs/team/jobs/svc/builds/lastSuccessfulBuild") == "2"
    assert os.stat(target / "userContent/run me.sh").st_uid == 1001
    assert oct(os.stat(target / "secrets").st_mode & 0o777) == "0o700"
    same = [target / "fingerprints/ab/cd/0123.xml", target / "fingerprints/ab/cd/same.xml"]
    assert os.stat(same[0]).st_ino == os.stat(same[1]).st_ino
    assert (target / "jobs/team/jobs/workspace/config.xml").exists()  # a job named workspace is data


def test_verify_accepts_ours_and_catches_a_changed_byte(home: Path, tmp_path: Path):
    r = backup(home, tmp_path / "b")
    assert verify(r.archive).ok
    # rewrite the archive with one file's content changed but the manifest kept
    raw = gzip.decompress(Path(r.archive).read_bytes())
    needle = b"line 7 of build 1\n"
    assert raw.count(needle) == 2
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(gzip.compress(raw.replace(needle, b"line X of build 1\n", 1)))
    v = verify(bad)
    assert not v.ok and any("checksum mismatch" in p for p in v.problems)
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(ArchiveInvalid, match="checksum mismatch"):
        restore(bad, target)
    assert list(target.iterdir()) == []
    # truncated
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(Path(r.archive).read_bytes()[: os.path.getsize(r.archive) // 2])
    with pytest.raises(ArchiveInvalid, match="truncated or corrupt"):
        verify(cut)


def test_retention_deletes_only_older_jenkins_kit_archives(home: Path, tmp_path: Path):
    dest = tmp_path / "b"
    dest.mkdir()
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    made = [backup(home, dest, now=lambda i=i: t + timedelta(hours=i), excludes=[*DEFAULT_EXCLUDES, "userContent/big.bin"]).archive
            for i in range(3)]
    foreign = dest / "jenkins-kit-backup-20250101T000000Z.tar.gz"  # our name, not our content
    with tarfile.open(foreign, "w:gz") as tf:
        tf.add(home / "config.xml", "config.xml")
    other = dest / "notes.txt"
    other.write_text("mine")
    r = backup(home, dest, keep=2, now=lambda: t + timedelta(hours=5))
    assert sorted(r.deleted) == sorted(made[:2])
    assert r.not_ours == [str(foreign)]
    left = sorted(p.name for p in dest.iterdir() if not p.name.startswith("."))
    assert left == sorted([foreign.name, other.name, Path(made[2]).name, Path(r.archive).name])
    assert read_header(r.archive)["format"] == "jenkins-kit-backup" and read_header(foreign) is None


def test_a_home_with_a_link_leading_out_is_refused_before_writing(home: Path, tmp_path: Path):
    os.symlink("/etc", home / "userContent" / "etc")
    os.symlink("../../..", home / "jobs" / "up")
    dest = tmp_path / "b"
    with pytest.raises(BackupError) as e:
        backup(home, dest)
    assert "'home/userContent/etc': symlink points to the absolute path '/etc'" in e.value.message
    assert "'home/jobs/up': symlink points outside the target" in e.value.message
    assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]
    # excluding them makes the backup possible
    r = backup(home, dest, excludes=[*DEFAULT_EXCLUDES, "userContent/etc", "jobs/up"])
    assert verify(r.archive).ok


def test_dest_inside_home_is_refused(home: Path):
    with pytest.raises(BackupUsageError, match="inside the Jenkins home"):
        backup(home, home / "backups")
    assert not (home / "backups").exists()


@needs_root
def test_full_disk_leaves_no_partial_archive(home: Path, tmp_path: Path):
    dest = tmp_path / "small"
    dest.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(dest)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        with pytest.raises(BackupError, match="no space left") as e:
            backup(home, dest)  # 3 MiB of random bytes do not fit in 512 KiB
        assert "partial archive was removed" in e.value.message
        assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]
    finally:
        subprocess.run(["umount", str(dest)], check=True)


@needs_root
def test_unreadable_file_fails_clearly_with_no_archive(tmp_path: Path):
    """The real command, as root without the capability to override file modes (what root_squash
    or a stray 'chmod 000' amounts to): a file it cannot read fails the backup by name."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    home = tmp_path / "home"
    (home / "jobs" / "a").mkdir(parents=True)
    (home / "jobs" / "a" / "config.xml").write_text("<flow-definition/>")
    secret = home / "userContent" / "unreadable.key"
    secret.parent.mkdir()
    secret.write_text("x")
    os.chmod(secret, 0o000)
    dest = tmp_path / "b"
    proc = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m", "jenkins_kit",
                           "backup", "--home", str(home), "--dest", str(dest), "--no-quiesce"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 20, proc.stderr  # ERROR: tool errors never use 1-4 (docs/cli.md)
    assert f"cannot read {secret}: permission denied" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in dest.iterdir()] == [".jenkins-kit-backup.lock"]


@needs_root
def test_restore_force_moves_the_old_contents_aside(home: Path, tmp_path: Path):
    r = backup(home, tmp_path / "b")
    target = tmp_path / "restore" / "jenkins"
    (target / "jobs" / "newer").mkdir(parents=True)
    (target / "jobs" / "newer" / "config.xml").write_text("made after the backup")
    with pytest.raises(TargetNotEmpty, match="not empty"):
        restore(r.archive, target)
    assert (target / "jobs" / "newer" / "config.xml").exists()
    res = restore(r.archive, target, force=True)
    aside = Path(res.moved_aside)
    assert aside.parent == target.parent and (aside / "jobs" / "newer" / "config.xml").read_text() == "made after the backup"
    assert snapshot(target) == snapshot(home, skip=EXCLUDED_BY_DEFAULT)


def test_restore_dry_run_lists_and_writes_nothing(home: Path, tmp_path: Path):
    r = backup(home, tmp_path / "b")
    target = tmp_path / "t"
    res = restore(r.archive, target, dry_run=True)
    assert not target.exists()
    paths = {e.path: e for e in res.entries}
    assert paths["jobs/app/builds/lastSuccessfulBuild"].linkname == "2"
    assert paths["secrets/master.key"].mode == 0o600
    assert "workspace" not in paths and "plugins/git" not in paths


def test_cli_backup_verify_restore_json(home: Path, tmp_path: Path):
    root = tmp_path  # home is ROOT/nfs_shared/jenkins, as nfs export lays it out
    cfg = tmp_path / "jenkins-kit.yaml"
    cfg.write_text("version: 1\nnfs: {server: 127.0.0.1, path: /nfs_shared/jenkins}\nregistry: {address: '127.0.0.1:5000'}\n")
    runner = CliRunner()
    r = runner.invoke(cli, ["backup", "-c", str(cfg), "--root", str(root), "--no-quiesce", "--json", "--keep", "3"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["archive"].startswith(str(root / "var" / "backups" / "jenkins-kit"))
    assert out["quiesce"] is None and out["file_count"] > 20 and out["jenkins_version"] == "2.492.3"
    v = runner.invoke(cli, ["backup", "verify", out["archive"], "--json"])
    assert v.exit_code == 0 and json.loads(v.stdout)["ok"] is True
    t = runner.invoke(cli, ["restore", out["archive"], "--target", str(tmp_path / "t"), "--json"])
    assert t.exit_code == 0, t.output
    assert json.loads(t.stdout)["next_step"] == "jenkins-kit up"
    again = runner.invoke(cli, ["restore", out["archive"], "--target", str(tmp_path / "t")])
    assert again.exit_code == 16 and "is not empty" in again.stderr and "--force" in again.stderr
    human = runner.invoke(cli, ["restore", out["archive"], "--target", str(tmp_path / "t2")])
    assert human.exit_code == 0 and "next: jenkins-kit up" in human.stdout


def test_every_default_exclude_is_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "backup.md").read_text()
    for pattern in DEFAULT_EXCLUDES:
        assert f"`{pattern}`" in doc, pattern


def test_progress_is_shown_on_a_terminal_and_not_in_json(home: Path, tmp_path: Path):
    import pty
    import select

    def run(*extra: str) -> tuple[int, str]:
        master, slave = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "jenkins_kit", "backup", "--home", str(home), "--dest",
                                 str(tmp_path / "b"), "--no-quiesce", *extra],
                                stdout=subprocess.PIPE, stderr=slave, env={**os.environ, "TERM": "xterm", "COLUMNS": "120"})
        os.close(slave)
        chunks = []
        while True:
            r, _, _ = select.select([master], [], [], 60)
            if not r:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
        os.close(master)
        return proc.returncode, b"".join(chunks).decode("utf-8", "replace")

    populate_home(home / "userContent" / "more", big=48 * 1024 * 1024)  # long enough for a refresh
    code, err = run()
    assert code == 0 and "backup" in err and "/s" in err and " MB" in err  # the byte progress bar
    code, err = run("--json")
    assert code == 0 and "/s" not in err and "━" not in err


@needs_root
def test_restore_onto_a_full_disk_leaves_the_target_as_it_was(home: Path, tmp_path: Path):
    r = backup(home, tmp_path / "b")
    target = tmp_path / "small"
    target.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        with pytest.raises(RestoreError, match="no space left") as e:
            restore(r.archive, target)
        assert "the target is as it was" in e.value.message
        assert list(target.iterdir()) == []
    finally:
        subprocess.run(["umount", str(target)], check=True)
