"""Render once, and only what the plan needs: a spec hash of the render inputs, texts on first use.

Against the Jenkins double over HTTP (what was sent, and when) and through the public API
(`render_jobs(lazy=True)`, `plan_jobs`, `apply_plan`, `jenkins-kit jobs apply`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from jenkins_kit.cli.main import cli
from jenkins_kit.errors import InvalidValue
from jenkins_kit.jenkins.jobs import apply_plan, plan_jobs, sync
from jenkins_kit.jenkins.xmlnorm import normalize
from jenkins_kit.render.env import data_dir
from jenkins_kit.render.jobs import render_jobs
from tests.test_jobs_sync import client_for
from tests.test_render_jobs import base_config, shapes_config


def _repos(n: int, tweak: dict[int, str] | None = None, **job: object) -> list[dict]:
    tweak = tweak or {}
    return [{"name": f"app-{i:03d}", "git": f"https://git.example.com/org/app-{i:03d}.git",
             "description": f"app {i}{tweak.get(i, '')}", "job": {"folder": f"team-{i % 3}", **job}} for i in range(n)]


def test_lazy_and_eager_render_agree():
    eager = render_jobs(shapes_config())
    lazy = render_jobs(shapes_config(), lazy=True)
    assert not any(j.rendered for j in lazy)
    assert [(j.full_name, j.kind, j.spec_hash) for j in lazy] == [(j.full_name, j.kind, j.spec_hash) for j in eager]
    assert lazy == eager  # texts rendered on first use, identical
    assert all(j.rendered for j in lazy)


def test_noop_sync_renders_nothing_and_a_change_renders_only_itself(jenkins_double):
    d = jenkins_double
    with client_for(d) as c:
        _, rep = sync(c, render_jobs(base_config(_repos(30)), lazy=True))
        assert rep.ok, rep.failures

        again = render_jobs(base_config(_repos(30)), lazy=True)
        d.clear_requests()
        jp, rep = sync(c, again)
        assert not jp.pending and rep.ok
        assert len(d.requests()) == 1
        assert not [j.full_name for j in again if j.rendered]  # nothing rendered to learn nothing changed

        changed = render_jobs(base_config(_repos(30, {7: " (new)"})), lazy=True)
        jp, rep = sync(c, changed)
        assert [ch.name for ch in jp.pending] == ["team-1/app-007"] and rep.ok
        assert [j.full_name for j in changed if j.rendered] == ["team-1/app-007"]
        live = c.get_text("job/team-1/job/app-007/config.xml")
        sent = next(j for j in changed if j.full_name == "team-1/app-007").config_xml
        assert "app 7 (new)" in live and normalize(sent) == normalize(live)  # Jenkins re-saves it in its own layout


def test_spec_hash_follows_the_templates_a_job_uses(tmp_path: Path):
    repos = [{"name": "plain", "git": "https://e.com/plain.git"},
             {"name": "gopher", "git": "https://e.com/gopher.git", "job": {"template": "go"}},
             {"name": "byscm", "git": "https://e.com/byscm.git", "job": {"jenkinsfile": "scm"}}]
    before = {j.full_name: j.spec_hash for j in render_jobs(base_config(repos), lazy=True)}

    # a user template folder overriding the Go Jenkinsfile: only the Go job changes
    tdir = tmp_path / "templates"
    tdir.mkdir()
    go = (data_dir("job_templates") / "go.Jenkinsfile.j2").read_text()
    (tdir / "go.Jenkinsfile.j2").write_text(go + "{# edited by the user #}\n")
    after = {j.full_name: j.spec_hash for j in render_jobs(base_config(repos), templates_dir=tdir, lazy=True)}
    assert after["gopher"] != before["gopher"]
    assert after["plain"] == before["plain"] and after["byscm"] == before["byscm"]

    # the config.xml template every pipeline job uses changes them all, through its include too
    shutil.copy(data_dir("job_templates") / "_properties.xml.j2", tdir / "_properties.xml.j2")
    with open(tdir / "_properties.xml.j2", "a") as f:
        f.write("{# edited #}\n")
    edited = {j.full_name: j.spec_hash for j in render_jobs(base_config(repos), templates_dir=tdir, lazy=True)}
    assert all(edited[k] != after[k] for k in after)

    # and a value that reaches the output changes the hash; one that does not, does not
    moved = [dict(r) for r in repos]
    moved[0]["branch"] = "develop"
    h = {j.full_name: j.spec_hash for j in render_jobs(base_config(moved), lazy=True)}
    assert h["plain"] != before["plain"] and h["gopher"] == before["gopher"]


def test_remembered_template_references_give_the_same_spec_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The templates a template names are remembered by its text (render/env.py referenced_templates):
    the hashes are the same with the memo cold, warm, unreadable or off, and a template edited to
    include another one is parsed again (the edit is followed, not the memo)."""
    import jenkins_kit.render.env as env_mod

    def hashes(tdir: Path | None = None) -> dict[str, str]:
        env_mod._refs_memo.cache_clear()
        env_mod.template_env.cache_clear()
        repos = [{"name": "plain", "git": "https://e.com/plain.git"}, {"name": "gopher", "git": "https://e.com/gopher.git", "job": {"template": "go"}}]
        return {j.full_name: j.spec_hash for j in render_jobs(base_config(repos), templates_dir=tdir, lazy=True)}

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("JENKINS_KIT_NO_TEMPLATE_CACHE", "1")
    off = hashes()
    monkeypatch.delenv("JENKINS_KIT_NO_TEMPLATE_CACHE")
    memo = tmp_path / "cache" / "jenkins-kit" / "templates" / "template-refs.json"
    assert hashes() == off and memo.is_file()  # cold: parsed, then remembered
    assert hashes() == off  # warm
    memo.write_text("{not json")
    assert hashes() == off
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "_extra.j2").write_text("// extra\n")
    go = (data_dir("job_templates") / "go.Jenkinsfile.j2").read_text()
    (tdir / "go.Jenkinsfile.j2").write_text(go + '{% include "_extra.j2" %}\n')
    first = hashes(tdir)
    (tdir / "_extra.j2").write_text("// extra, edited\n")  # only the included template changes
    second = hashes(tdir)
    assert first["gopher"] != off["gopher"] and second["gopher"] != first["gopher"] and second["plain"] == off["plain"]


def test_a_value_no_template_can_carry_stops_apply_before_anything_is_sent(jenkins_double):
    d = jenkins_double
    repos = _repos(5)
    repos[3]["description"] = "bell\x07"
    desired = render_jobs(base_config(repos), lazy=True)  # hashes need no render: no error yet
    with client_for(d) as c:
        jp = plan_jobs(c, desired, diffs=False)
        d.clear_requests()
        with pytest.raises(InvalidValue, match="control character"):
            apply_plan(c, jp)
        assert not [r for r in d.requests() if r["method"] == "POST"]
        assert c.get_json("", tree="jobs[name]")["jobs"] == []


def test_apply_off_a_terminal_prints_the_summary_and_details_with_v(jenkins_double, tmp_path: Path, monkeypatch):
    d = jenkins_double
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(yaml.safe_dump({"nfs": {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"},
                                   "registry": {"address": "192.168.1.10:8443"}, "repositories": _repos(4)}))
    monkeypatch.setenv("JENKINS_URL", d.url)
    monkeypatch.setenv("JENKINS_USER_ID", d.user)
    monkeypatch.setenv("JENKINS_API_TOKEN", d.token)
    r = CliRunner().invoke(cli, ["jobs", "apply", "-c", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "Plan: 7 to create, 0 to update, 0 to delete, 0 unchanged." in r.stderr
    assert "team-0/app-000" not in r.stderr  # no line per job in a log
    assert "Applied in" in r.stdout and "7 created" in r.stdout

    cfg.write_text(cfg.read_text().replace("app 2", "app two"))
    r = CliRunner().invoke(cli, ["jobs", "apply", "-c", str(cfg), "-v"])
    assert r.exit_code == 0, r.output
    assert "~ update    Pipeline    team-2/app-002  desired config changed since the last apply" in r.stderr
    assert "= unchanged" in r.stderr and "Plan: 0 to create, 1 to update" in r.stderr


def test_apply_in_a_log_prints_plain_text_without_importing_rich(jenkins_double, tmp_path: Path):
    """Off a terminal (a CI log, a pipe) the plan summary and the result are plain lines written at
    once: rich, ~10 ms of start-up, is not even imported. Asked of a process of its own, since this
    one imported rich long ago; its stdout and stderr are files, as in CI."""
    import os
    import subprocess
    import sys

    d = jenkins_double
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(yaml.safe_dump({"nfs": {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"},
                                   "registry": {"address": "192.168.1.10:8443"}, "repositories": _repos(4)}))
    probe = ("import atexit, os, sys\n"
             "atexit.register(lambda: os.write(2, b'rich imported: %d\\n' % ('rich' in sys.modules)))\n"
             "from jenkins_kit.cli.main import main\nsys.argv[0] = 'jenkins-kit'\nmain()\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "FORCE_COLOR", "TTY_COMPATIBLE"))}
    env.update(JENKINS_URL=d.url, JENKINS_USER_ID=d.user, JENKINS_API_TOKEN=d.token)
    for extra in ([], ["-v"]):
        if extra:
            cfg.write_text(cfg.read_text().replace("app 2", "app two"))
        p = subprocess.run([sys.executable, "-c", probe, "jobs", "apply", "-c", str(cfg), *extra], capture_output=True, text=True,
                           timeout=120, env=env, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        assert "rich imported: 0" in p.stderr, p.stderr
        if not extra:
            assert "Plan: 7 to create, 0 to update, 0 to delete, 0 unchanged." in p.stderr and "team-0/app-000" not in p.stderr
            assert p.stdout == f"Applied in {p.stdout.split()[2]} 7 created; 0 failed.\n"
        else:
            assert "~ update    Pipeline    team-2/app-002" in p.stderr
            assert p.stdout.startswith("ok     update   team-2/app-002\n") and "1 updated; 0 failed." in p.stdout
