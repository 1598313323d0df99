"""`jenkins-kit nfs export` on a temporary tree: idempotent, other lines untouched, owner right, bad specs refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jenkins_kit.cli.main import cli
from jenkins_kit.config.schema import LabConfig
from jenkins_kit.nfs import (
    InvalidExport,
    NfsError,
    client_problem,
    export,
    option_problem,
    parse_entry,
    upsert_export,
    validate_line,
)

EXISTING = """\
# /etc/exports: the access control list for filesystems which may be exported
#		to NFS clients.  See exports(5).
#
/srv/homes       hostname1(rw,sync,no_subtree_check) hostname2(ro,sync,no_subtree_check)

/nfs_shared/other 192.168.1.0/24(rw,sync) \\
    10.0.0.0/8(ro)
# an old entry for jenkins, commented out: /nfs_shared/jenkins *(rw)
/nfs_shared/jenkins 192.168.1.0/24(rw,sync,no_root_squash)
/nfs_shared/jenkins-old *(ro)
"""

AS_ROOT = os.geteuid() == 0


def cfg(**nfs) -> LabConfig:
    base = {"server": "127.0.0.1", "path": "/nfs_shared/jenkins", "uid": 1000, "gid": 1000, "clients": ["192.168.1.0/24"]}
    base.update(nfs)
    return LabConfig.model_validate({"nfs": base, "registry": {"address": "127.0.0.1:5000"}})


def write_config(tmp_path: Path, **nfs) -> Path:
    import yaml

    base = {"server": "127.0.0.1", "path": "/nfs_shared/jenkins", "clients": ["192.168.1.0/24"], **nfs}
    p = tmp_path / "jenkins-kit.yaml"
    p.write_text(yaml.safe_dump({"version": 1, "nfs": base, "registry": {"address": "127.0.0.1:5000"}}))
    return p


# ------------------------------------------------------------------ syntax


@pytest.mark.parametrize(
    "spec",
    ["*", "192.168.1.0/24", "192.168.1.10", "10.0.0.0/255.0.0.0", "*.lab.example", "w?-k8s", "m-k8s",
     "@trusted", "fe80::/64", "[::1]", "gss/krb5p", "host-[0-9].lab"],
)
def test_good_clients(spec):
    assert client_problem(spec) is None


@pytest.mark.parametrize(
    "spec",
    ["", "192.168.1.0/33", "300.1.1.1", "192.168.1.0/255.0.255.0", "bad host", "a(rw)", "-rw", "host,other",
     "under_score.lab", "fe80::zz", "gss/foo", "@bad group", "1.2.3.4/x"],
)
def test_bad_clients(spec):
    assert client_problem(spec)


def test_options():
    assert option_problem(["rw", "sync", "no_root_squash", "no_subtree_check", "anonuid=1000", "sec=sys:krb5"]) is None
    assert "contradict" in option_problem(["rw", "ro"])
    assert "unknown" in option_problem(["rw", "no_such_option"])
    assert option_problem(["anonuid=abc"])
    assert option_problem([])


def test_parse_roundtrip_and_continuation():
    e = parse_entry('"/srv/with space" -sync host(rw) *(ro)')
    assert e.path == "/srv/with space" and e.default_options == ("sync",)
    assert [c.spec for c in e.clients] == ["host", "*"]
    with pytest.raises(InvalidExport):
        validate_line("/x 192.168.1.0/33(rw)")
    with pytest.raises(InvalidExport):
        validate_line("/x host(rw)\n/y *(rw)")


def test_upsert_keeps_everything_else_byte_for_byte():
    line = "/nfs_shared/jenkins 192.168.1.0/24(rw,sync,no_root_squash,no_subtree_check)"
    new, action = upsert_export(EXISTING, "/nfs_shared/jenkins", line)
    assert action == "updated"
    old_lines, new_lines = EXISTING.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert changed == [8] and new_lines[8] == line
    again, action2 = upsert_export(new, "/nfs_shared/jenkins/", line)  # trailing slash is the same path
    assert action2 == "unchanged" and again == new
    added, action3 = upsert_export("# only a comment", "/nfs_shared/jenkins", line)
    assert action3 == "added" and added == "# only a comment\n" + line + "\n"


def test_upsert_replaces_a_continued_entry_and_refuses_duplicates():
    line = "/nfs_shared/other 192.168.1.0/24(rw,sync)"
    new, action = upsert_export(EXISTING, "/nfs_shared/other", line)
    assert action == "updated" and "10.0.0.0/8(ro)" not in new and line in new.splitlines()
    with pytest.raises(NfsError, match="2 entries"):
        upsert_export(EXISTING + "/nfs_shared/jenkins *(ro)\n", "/nfs_shared/jenkins", line)


# ------------------------------------------------------------------ the operation


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "exports").write_text(EXISTING)
    os.chmod(root / "etc" / "exports", 0o640)
    return root


@pytest.mark.skipif(not AS_ROOT, reason="chown to 1000:1000 needs root")
def test_export_is_idempotent_and_owns_the_folder(tree):
    c = cfg()
    r1 = export(c, root=tree)
    d = tree / "nfs_shared" / "jenkins"
    st = d.stat()
    assert d.is_dir() and (st.st_uid, st.st_gid) == (1000, 1000)
    exports = (tree / "etc" / "exports").read_text()
    ours = [l for l in exports.splitlines() if l.startswith("/nfs_shared/jenkins ")]
    assert ours == ["/nfs_shared/jenkins 192.168.1.0/24(rw,sync,no_root_squash,no_subtree_check)"]
    others_before = [l for l in EXISTING.splitlines() if not l.startswith("/nfs_shared/jenkins ")]
    others_after = [l for l in exports.splitlines() if not l.startswith("/nfs_shared/jenkins ")]
    assert others_before == others_after
    assert r1.backup and Path(r1.backup).read_text() == EXISTING
    assert oct((tree / "etc" / "exports").stat().st_mode & 0o777) == oct(0o640)  # mode kept
    assert any(s.name == "reload" and s.status == "skipped" for s in r1.steps)  # never reloads a temp tree
    r2 = export(c, root=tree)
    assert not r2.changed and r2.backup is None
    assert (tree / "etc" / "exports").read_text() == exports
    assert len(list((tree / "etc").glob("exports.*.bak"))) == 1


@pytest.mark.skipif(not AS_ROOT, reason="chown needs root")
def test_existing_data_is_not_chowned_unless_asked(tree):
    d = tree / "nfs_shared" / "jenkins"
    d.mkdir(parents=True)
    (d / "jobs").mkdir()
    (d / "config.xml").write_text("<x/>")
    os.chown(d / "config.xml", 0, 0)
    r = export(cfg(), root=tree)
    assert (d.stat().st_uid, d.stat().st_gid) == (1000, 1000)
    assert (d / "config.xml").stat().st_uid == 0
    warn = [s for s in r.steps if s.status == "warn"]
    assert warn and "--chown-recursive" in warn[0].detail
    r2 = export(cfg(), root=tree, chown_recursive=True)
    assert (d / "config.xml").stat().st_uid == 1000 and (d / "jobs").stat().st_gid == 1000
    assert any(s.name == "owner-recursive" and s.status == "done" for s in r2.steps)


def test_bad_client_spec_is_refused_before_writing(tree, tmp_path):
    # The schema refuses this client too (config validate); export() checks the line again itself.
    good = cfg()
    bad = good.model_copy(update={"nfs": good.nfs.model_copy(update={"clients": ["192.168.1.0/33"]})})
    before = (tree / "etc" / "exports").read_text()
    with pytest.raises(InvalidExport, match="prefix /33"):
        export(bad, root=tree)
    assert (tree / "etc" / "exports").read_text() == before
    assert not (tree / "nfs_shared").exists()


def test_exports_file_created_when_missing_and_exportfs_reload(tmp_path, monkeypatch):
    # An exports file in a temp dir is never treated as the live one: exportfs is not run.
    fake = tmp_path / "exportfs"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/calls\n")
    fake.chmod(0o755)
    r = export(cfg(uid=os.getuid(), gid=os.getgid()), root=tmp_path / "r", exports_file=tmp_path / "exports", exportfs=str(fake))
    assert (tmp_path / "exports").read_text().startswith("/nfs_shared/jenkins ")
    assert not (tmp_path / "calls").exists()
    # Pretend our file is the system one: then exportfs -ra runs (argument list, no shell).
    monkeypatch.setattr("jenkins_kit.nfs.SYSTEM_EXPORTS", (tmp_path / "exports").resolve())
    (tmp_path / "exports").write_text("")
    r = export(cfg(uid=os.getuid(), gid=os.getgid()), root=tmp_path / "r", exports_file=tmp_path / "exports", exportfs=str(fake))
    assert (tmp_path / "calls").read_text().strip() == "-ra"
    assert any(s.name == "reload" and s.status == "done" for s in r.steps)
    r = export(cfg(uid=os.getuid(), gid=os.getgid()), root=tmp_path / "r", exports_file=tmp_path / "exports", exportfs=str(fake), reload=False)
    assert any(s.name == "reload" and s.status == "skipped" for s in r.steps)


def test_failed_reload_restores_the_backup(tmp_path, monkeypatch):
    fake = tmp_path / "exportfs"
    fake.write_text("#!/bin/sh\necho 'exportfs: bad line' >&2\nexit 1\n")
    fake.chmod(0o755)
    exp = tmp_path / "exports"
    exp.write_text("/srv *(ro)\n")
    monkeypatch.setattr("jenkins_kit.nfs.SYSTEM_EXPORTS", exp.resolve())
    with pytest.raises(NfsError, match="restored"):
        export(cfg(uid=os.getuid(), gid=os.getgid()), root=tmp_path / "r", exports_file=exp, exportfs=str(fake))
    assert exp.read_text() == "/srv *(ro)\n"


def test_cli_nfs_export_json_and_errors(tmp_path):
    root = tmp_path / "root"
    conf = write_config(tmp_path, uid=os.getuid(), gid=os.getgid())
    runner = CliRunner()
    res = runner.invoke(cli, ["nfs", "export", "-c", str(conf), "--root", str(root), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["changed"] and data["line"].startswith("/nfs_shared/jenkins ")
    res2 = runner.invoke(cli, ["nfs", "export", "-c", str(conf), "--root", str(root), "--json"])
    assert res2.exit_code == 0 and json.loads(res2.stdout)["changed"] is False
    res3 = runner.invoke(cli, ["nfs", "export", "-c", str(conf), "--root", str(root)])
    assert res3.exit_code == 0 and "unchanged" in res3.output
    # A client the schema lets through but exportfs would reject.
    bad = write_config(tmp_path, clients=["300.1.1.1"])
    res4 = runner.invoke(cli, ["nfs", "export", "-c", str(bad), "--root", str(root)])
    assert res4.exit_code == 16 and "300.1.1.1" in res4.output and "Traceback" not in res4.output


def test_chown_without_root_says_to_use_root(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "lchown", denied)
    with pytest.raises(NfsError) as e:
        export(cfg(uid=4242, gid=4242), root=tmp_path / "r")
    assert "permission denied" in e.value.message and "as root" in e.value.hint
    assert not (tmp_path / "r" / "etc" / "exports").exists()  # the exports file is only touched after the owner is right
