"""Hostile archives: each is refused whole, with nothing written inside or outside the target.

The archives carry a genuine header and a manifest whose checksums match, so what refuses them is
the member check, not a missing manifest. Written with the stdlib tarfile, as an attacker would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jenkins_kit.backup import ArchiveInvalid, restore, verify
from jenkins_kit.cli.main import cli
from tests.backup_support import make_archive, member

OK = [member("home/jobs", "d", mode=0o755), member("home/jobs/app", "d", mode=0o755),
      member("home/jobs/app/config.xml", data=b"<flow-definition/>")]

HOSTILE = {
    "dotdot": ([member("home/../evil.txt", data=b"pwned")], "'..' in the name"),
    "dotdot-top": ([member("../evil.txt", data=b"pwned")], "'..' in the name"),
    "deep-dotdot": ([member("home/jobs/../../../evil.txt", data=b"pwned")], "'..' in the name"),
    "absolute": ([member("/tmp/jenkins-kit-evil.txt", data=b"pwned")], "an absolute name"),
    "outside-home": ([member("etc/cron.d/evil", data=b"* * * * * root sh")], "outside the archive's home/"),
    "char-device": ([member("home/dev-null", "chr")], "character device"),
    "block-device": ([member("home/sda", "blk")], "block device"),
    "fifo": ([member("home/pipe", "fifo")], "FIFO"),
    "symlink-absolute": ([member("home/etc", "l", linkname="/etc")], "points to the absolute path '/etc'"),
    "symlink-up": ([member("home/jobs/up", "l", linkname="../../..")], "points outside the target"),
    "symlink-chain": (
        # each link looks harmless alone: s -> ../.. stays inside from home/a/b; but l -> s/../..
        # resolves s first (to home) and then climbs out of it
        [member("home/a", "d"), member("home/a/b", "d"), member("home/a/b/s", "l", linkname="../.."),
         member("home/a/b/l", "l", linkname="s/../..")],
        "'home/a/b/l': symlink points outside the target",
    ),
    "symlink-loop": ([member("home/x", "l", linkname="y"), member("home/y", "l", linkname="x")], "symlink loop"),
    "write-through-symlink": (
        [member("home/jobs", "l", linkname="."), member("home/jobs/config.xml", data=b"through the link")],
        "would be written through the symlink 'home/jobs'",
    ),
    "hardlink-out": ([member("home/passwd", "h", linkname="/etc/passwd")], "an absolute name"),
    "hardlink-dotdot": ([member("home/passwd", "h", linkname="home/../../etc/passwd")], "'..' in the name"),
    "hardlink-forward": ([member("home/l", "h", linkname="home/later"), member("home/later", data=b"x")],
                         "not a regular file earlier in the archive"),
    "duplicate": ([member("home/jobs/app/config.xml", data=b"second copy")], "appears twice"),
    "setuid": ([member("home/tool", data=b"#!/bin/sh", mode=0o4755)], "setuid/setgid"),
}


@pytest.fixture
def jail(tmp_path: Path) -> tuple[Path, Path]:
    """(target, outside): an empty target, beside a folder that must stay untouched."""
    target = tmp_path / "jail" / "target"
    target.mkdir(parents=True)
    return target, tmp_path


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused_with_nothing_written(case: str, jail: tuple[Path, Path]):
    target, outside = jail
    members, why = HOSTILE[case]
    archive = make_archive(outside / "hostile.tar.gz", OK + members)
    before = _all_files(outside)
    with pytest.raises(ArchiveInvalid) as e:
        restore(archive, target)
    assert why in e.value.message and "nothing was written" in e.value.message
    assert list(target.iterdir()) == []
    assert _all_files(outside) == before
    assert not Path("/tmp/jenkins-kit-evil.txt").exists()
    v = verify(archive)
    assert not v.ok and any(why in p for p in v.problems)
    with pytest.raises(ArchiveInvalid):
        restore(archive, target, dry_run=True)


def test_the_same_members_without_the_hostile_one_restore(jail: tuple[Path, Path]):
    """The control: the harness archive itself is fine, so each refusal above is the hostile member's."""
    target, outside = jail
    archive = make_archive(outside / "fine.tar.gz", OK + [member("home/jobs/app/builds", "d"),
                                                          member("home/jobs/app/builds/1", "d"),
                                                          member("home/jobs/app/builds/lastSuccessfulBuild", "l", linkname="1"),
                                                          member("home/jobs/app/lastStable", "l", linkname="builds/lastSuccessfulBuild")])
    assert verify(archive).ok
    restore(archive, target, chown=False)
    assert (target / "jobs/app/config.xml").read_bytes() == b"<flow-definition/>"
    assert os.readlink(target / "jobs/app/lastStable") == "builds/lastSuccessfulBuild"


def test_cli_refuses_a_hostile_archive(jail: tuple[Path, Path]):
    target, outside = jail
    archive = make_archive(outside / "hostile.tar.gz", OK + HOSTILE["symlink-absolute"][0])
    r = CliRunner().invoke(cli, ["restore", str(archive), "--target", str(target)])
    assert r.exit_code == 20  # ERROR (docs/cli.md: tool errors never use 1-4)
    assert "nothing was written" in r.stderr and "'/etc'" in r.stderr and "Traceback" not in r.output
    assert list(target.iterdir()) == []
    v = CliRunner().invoke(cli, ["backup", "verify", str(archive), "--json"])
    assert v.exit_code == 20 and json.loads(v.stdout)["ok"] is False


def test_a_plain_tar_of_a_home_is_not_taken_for_a_backup(jail: tuple[Path, Path]):
    target, outside = jail
    archive = make_archive(outside / "plain.tar.gz", OK, with_meta=False)
    with pytest.raises(ArchiveInvalid, match="not an archive written by jenkins-kit"):
        restore(archive, target)
    assert list(target.iterdir()) == []
