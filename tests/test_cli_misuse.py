"""Misuse of the CLI (issue 14 #8-#18): every case ends with advice and a tool exit code (never a
traceback, never 1-4 outside build results and --detailed-exitcode), within a time limit."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from jenkins_kit.cli.main import cli
from tests.test_builds_support import cli_env, client_for, create_job, job_xml, run_cli

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "examples" / "lab" / "jenkins-kit.yaml"
H = "nfs: {server: 192.168.1.10, path: /nfs_shared/jenkins}\nregistry: {address: 192.168.1.10:8443}\n"


def _kit(*args: str, env: dict[str, str] | None = None, timeout: float = 30, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JENKINS_")}
    base["PYTHONPATH"] = str(REPO) + os.pathsep + base.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "jenkins_kit", *args], capture_output=True, text=True, timeout=timeout,
                          env={**base, **(env or {})}, stdin=subprocess.DEVNULL, cwd=cwd)


def _no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stdout + p.stderr, p.stderr


# ------------------------------------------------------------------ 8. malformed URLs, last resort


@pytest.mark.parametrize("url", ["http://[::1/", "http://127.0.0.1:99999/", "http://a b/", "ftp://127.0.0.1/", "http:///x", "http://127.0.0.1:8080/\x01"])
def test_malformed_jenkins_url_is_an_input_error(url: str, tmp_path: Path) -> None:
    env = {"JENKINS_URL": url, "JENKINS_USER_ID": "u", "JENKINS_API_TOKEN": "t0ken-value"}
    for args in (["build", "team/app"], ["status", "team/app"], ["jobs", "plan", "-c", str(LAB)]):
        p = _kit(*args, env=env, cwd=str(tmp_path))
        _no_traceback(p)
        assert p.returncode == 16, (args, p.stderr)
        assert "Jenkins URL" in p.stderr and "hint:" in p.stderr
        assert "t0ken-value" not in p.stderr


def test_last_resort_handler_prints_one_line_and_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An unexpected exception (a bug) is one line and exit 70; --debug adds the traceback."""
    import jenkins_kit.render.check as check

    def bug(path: object) -> None:
        raise RuntimeError("unexpected state\nsecond line")

    monkeypatch.setattr(check, "check_config", bug)
    conf = tmp_path / "c.yaml"
    conf.write_text(H)
    r = CliRunner().invoke(cli, ["config", "validate", "-c", str(conf)])
    assert r.exit_code == 70
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines[0].startswith("error: internal error at ") and "RuntimeError: unexpected state second line" in lines[0]
    assert "--debug" in lines[1] and len(lines) == 2 and "Traceback" not in r.stderr
    r = CliRunner().invoke(cli, ["--debug", "config", "validate", "-c", str(conf)])
    assert r.exit_code == 70 and "Traceback (most recent call last)" in r.stderr and "def bug" not in r.stdout
    r = CliRunner().invoke(cli, ["config", "validate", "-c", str(conf)], env={"JENKINS_KIT_LOG": "debug"})
    assert r.exit_code == 70 and "Traceback (most recent call last)" in r.stderr


def test_usage_errors_exit_16_everywhere(tmp_path: Path) -> None:
    for args in (["--no-such-flag"], ["confg"], ["render"], ["config", "validate", "--bogus"], ["build"], ["jobs", "plan", "--prune", "x"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 16, (args, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit)
    r = CliRunner().invoke(cli, ["confg"])
    assert "Did you mean 'config'?" in r.output


# ------------------------------------------------------------------ 9. not a Jenkins


class _Plain(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a: object) -> None:
        pass


def _serve(handler: type, directory: str | None = None) -> http.server.ThreadingHTTPServer:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler if directory is None else
                                          (lambda *a, **k: handler(*a, directory=directory, **k)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_a_plain_http_server_is_not_a_jenkins(tmp_path: Path) -> None:
    srv = _serve(_Plain, str(tmp_path))
    try:
        env = {"JENKINS_URL": f"http://127.0.0.1:{srv.server_port}/", "JENKINS_USER_ID": "u", "JENKINS_API_TOKEN": "t"}
        for args in (["build", "team/app"], ["status", "team/app"], ["jobs", "plan", "-c", str(LAB)]):
            p = _kit(*args, env=env, cwd=str(tmp_path))
            _no_traceback(p)
            assert "this is not a Jenkins" in p.stderr, (args, p.stderr)
            assert "not found" not in p.stderr
            assert p.returncode == 15, (args, p.returncode)
    finally:
        srv.shutdown()


# ------------------------------------------------------------------ 10. --timeout bounds the whole command


def test_build_timeout_bounds_the_whole_command(tmp_path: Path) -> None:
    """A port that accepts and never answers: `build --timeout 2` ends in about 2 s (was 154 s)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    try:
        env = {"JENKINS_URL": f"http://127.0.0.1:{s.getsockname()[1]}/", "JENKINS_USER_ID": "u", "JENKINS_API_TOKEN": "t"}
        for follow in ([], ["-s"], ["-f"]):
            t0 = time.monotonic()
            p = _kit("build", "team/app", "--timeout", "2", *follow, env=env, timeout=30, cwd=str(tmp_path))
            took = time.monotonic() - t0
            _no_traceback(p)
            assert p.returncode == 10, p.stderr
            assert took < 2 + 3, took  # 2 s plus interpreter start-up
    finally:
        s.close()


# ------------------------------------------------------------------ 11/13. markup, plan --detailed-exitcode


def test_error_text_with_markup_is_printed_verbatim(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(H + "jenkins: {system_message: !custom '[bold]x[/] [link=y]z'}\nrepositories: [{name: '[red]a[', git: 'https://e.com/x.git'}]\n")
    for args in (["jobs", "plan", "-c", str(conf), "--detailed-exitcode"], ["config", "validate", "-c", str(conf)]):
        p = _kit(*args, env={"JENKINS_URL": "http://127.0.0.1:9/"})
        _no_traceback(p)
        assert "MarkupError" not in p.stderr
        assert "'[red]a['" in p.stderr, p.stderr
        assert p.returncode == (1 if "--detailed-exitcode" in args else 16)


def test_cluster_plan_detailed_exitcode_errors_are_1(tmp_path: Path) -> None:
    """2 means "changes pending" to a CI gate: bad flags, bad configs, a missing kubeconfig are 1."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(H + "cluster: {namespace: 'ci\\n'}\n")
    missing_kc = tmp_path / "lab.yaml"
    data = yaml.safe_load(LAB.read_text())
    data["cluster"]["kubeconfig"] = str(tmp_path / "nope.kubeconfig")
    missing_kc.write_text(yaml.safe_dump(data))
    cases = [
        ["plan", "--detailed-exitcode", "--no-such-flag"],
        ["plan", "--detailed-exitcode", "-c", str(tmp_path / "absent.yaml")],
        ["plan", "--detailed-exitcode", "-c", str(bad)],
        ["plan", "--detailed-exitcode", "--no-jobs", "-c", str(missing_kc)],
    ]
    for args in cases:
        p = _kit(*args, env={"KUBECONFIG": str(tmp_path / "nope")}, cwd=str(tmp_path))
        _no_traceback(p)
        assert p.returncode == 1, (args, p.returncode, p.stderr)
        assert p.stderr.strip(), args
        # without the flag the same errors use their own codes (never 1-4)
        q = _kit(*[a for a in args if a != "--detailed-exitcode"], env={"KUBECONFIG": str(tmp_path / "nope")}, cwd=str(tmp_path))
        assert q.returncode >= 10, (args, q.returncode)


# ------------------------------------------------------------------ 12. render: all or nothing, stale files


def test_render_refuses_what_is_in_the_way_and_writes_nothing(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(H + "repositories: [{name: echo, git: 'https://e.com/x.git'}]\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "jobs").write_text("a file where a folder goes")
    r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out)])
    assert r.exit_code == 16 and "is a file" in r.output and "nothing was written" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["jobs"]
    (out / "jobs").unlink()
    (out / "helm" / "values.yaml").mkdir(parents=True)
    r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out)])
    assert r.exit_code == 16 and "is a folder" in r.output
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["helm", "helm/values.yaml"]
    file_out = tmp_path / "afile"
    file_out.write_text("x")
    r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(file_out)])
    assert r.exit_code == 16 and "Traceback" not in r.output and file_out.read_text() == "x"


def test_render_lists_files_as_plain_lines_off_a_terminal(tmp_path: Path) -> None:
    """A CI log gets one whole line a file, not a table wrapped at 80 columns."""
    conf = tmp_path / "c.yaml"
    long = "a-repository-name-long-enough-to-wrap-a-table-column-" + "x" * 8  # 61 chars, a DNS label
    conf.write_text(H + f"repositories: [{{name: {long}, git: 'https://e.com/x.git'}}]\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out)])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == f"bundle in {out}/"
    assert f"created   jobs/{long}/config.xml" in lines and "│" not in r.stdout
    again = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out)])
    assert f"unchanged jobs/{long}/config.xml" in again.stdout.splitlines()


def test_render_removes_what_it_no_longer_renders_and_keeps_other_files(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(H + "cluster: {namespace: jenkins}\nrepositories: [{name: echo, git: 'https://e.com/x.git'}]\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out), "-o", "json"])
    assert r.exit_code == 0, r.output
    (out / "k8s" / "my-own.yaml").write_text("kind: ConfigMap\n")  # the user's: never removed
    conf.write_text(H + "cluster: {namespace: ci}\nrepositories: [{name: other, git: 'https://e.com/x.git'}]\n")
    r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out), "-o", "json"])
    assert r.exit_code == 0, r.output
    status = {f["path"]: f["status"] for f in json.loads(r.stdout)["files"]}
    assert status["k8s/00-namespace-ci.yaml"] == "created"
    assert status["jobs/echo/config.xml"] == "removed" and not (out / "jobs" / "echo").exists()
    assert not any(p.name == "00-namespace-jenkins.yaml" for p in (out / "k8s").iterdir())
    assert (out / "k8s" / "my-own.yaml").exists()
    namespaces = [p for p in (out / "k8s").iterdir() if "namespace" in p.name]
    assert [p.name for p in namespaces if "jenkins" in p.name] == [p.name for p in namespaces if "namespace-jenkins" in p.name]


# ------------------------------------------------------------------ 15. diffs whole in CI logs


def test_plan_diff_lines_are_not_cut_when_not_a_terminal(jenkins_double, tmp_path: Path) -> None:
    long_desc = "d" * 300
    data = yaml.safe_load(LAB.read_text())
    data["repositories"] = [{"name": "app", "git": "https://e.com/app.git"}]
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(data))
    env = {"JENKINS_URL": jenkins_double.url, "JENKINS_USER_ID": jenkins_double.user, "JENKINS_API_TOKEN": jenkins_double.token}
    assert CliRunner().invoke(cli, ["jobs", "apply", "-c", str(conf)], env=env).exit_code == 0
    data["repositories"][0]["description"] = long_desc
    conf.write_text(yaml.safe_dump(data))
    r = CliRunner().invoke(cli, ["jobs", "plan", "-c", str(conf)], env=env)
    assert r.exit_code == 0, r.output
    assert any(long_desc in line and line.startswith("+") for line in r.stdout.splitlines()), r.stdout


# ------------------------------------------------------------------ 16. nfs export --dry-run


def test_nfs_export_dry_run_says_would(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(f"nfs: {{server: 127.0.0.1, path: /nfs_shared/jenkins, uid: {os.getuid()}, gid: {os.getgid()}}}\n"
                    "registry: {address: 127.0.0.1:5000}\n")
    root = tmp_path / "root"
    r = CliRunner().invoke(cli, ["nfs", "export", "-c", str(conf), "--root", str(root), "--dry-run", "-o", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["dry_run"] is True and {s["status"] for s in doc["steps"]} <= {"would", "skipped", "unchanged"}
    assert not any("verified" in s["detail"] for s in doc["steps"])
    assert not root.exists()  # and nothing was done
    r = CliRunner().invoke(cli, ["nfs", "export", "-c", str(conf), "--root", str(root), "--dry-run"])
    assert "done" not in r.stdout and "would" in r.stdout and "would change" in r.stdout


# ------------------------------------------------------------------ 17. doctor warnings once


def test_insecure_warns_exactly_once(jenkins_double, tmp_path: Path) -> None:
    data = yaml.safe_load(LAB.read_text())
    data["repositories"] = [{"name": "app", "git": "https://e.com/app.git"}]
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(data))
    env = cli_env(jenkins_double)
    env["JENKINS_URL"] = jenkins_double.url.replace("http://", "https://") if False else jenkins_double.url
    p = subprocess.run([sys.executable, "-m", "jenkins_kit", "jobs", "plan", "-c", str(conf), "--insecure"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.stderr.count("TLS certificate verification is OFF") == 1, p.stderr
    assert "InsecureRequestWarning" not in p.stderr and "Traceback" not in p.stderr


# ------------------------------------------------------------------ 18. build on a folder, parameter hints


@pytest.fixture
def jd(jenkins_double):  # type: ignore[no-untyped-def]
    c = client_for(jenkins_double)
    create_job(c, "team/app", job_xml())
    create_job(c, "param", job_xml([("Choice", "ENV", ["dev", "prod"]), ("Boolean", "DRY", "false")]))
    jenkins_double.client = c
    return jenkins_double


def test_build_on_a_folder_and_bad_parameters_have_advice(jd) -> None:  # type: ignore[no-untyped-def]
    p = run_cli(jd, "build", "team", timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 16, err
    assert "team is a folder" in err and "disappeared" not in err and "jenkins-kit build 'team/app'" in err
    p = run_cli(jd, "build", "param", "-p", "ENV=prd", timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 16 and "hint:" in err and "ENV (one of: dev, prod)" in err, err
    p = run_cli(jd, "build", "param", "-p", "DRY=perhaps", timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 16 and "hint:" in err and "DRY (true or false)" in err, err


# ------------------------------------------------------------------ conventions


def _all_commands():  # type: ignore[no-untyped-def]
    import click

    from jenkins_kit.cli.main import _COMMANDS

    ctx = click.Context(cli)
    for name in _COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert cmd is not None
        yield [name], cmd
        if isinstance(cmd, click.Group):
            for sub in cmd.list_commands(ctx):
                yield [name, sub], cmd.get_command(ctx, sub)


TALKS_TO_JENKINS = {("build",), ("logs",), ("status",), ("stop",), ("jobs", "plan"), ("jobs", "apply"), ("doctor",), ("plan",), ("up",)}


def test_every_command_has_examples_and_one_dialect_of_options() -> None:
    import click

    seen = set()
    for path, cmd in _all_commands():
        seen.add(tuple(path))
        r = CliRunner().invoke(cli, [*path, "--help"])
        assert r.exit_code == 0, (path, r.output)
        assert "Examples:" in r.output, path
        opts = {o for p in cmd.params if isinstance(p, click.Option) and not p.hidden for o in p.opts}
        if tuple(path) in TALKS_TO_JENKINS:
            assert {"--url", "--insecure", "--ca-bundle", "--request-timeout"} <= opts, (path, opts)
        assert "--json" not in opts, path  # -o json instead (a hidden --json alias is kept)
        if any(isinstance(p, click.Option) and p.name == "json_alias" for p in cmd.params):
            assert {"-o", "--output"} <= opts, path
        assert "--jenkins-url" not in opts and "--probe-timeout" not in opts
    assert TALKS_TO_JENKINS <= seen


def test_commands_that_print_data_take_output_json() -> None:
    for path in (["config", "validate"], ["config", "show"], ["render"], ["doctor"], ["plan"], ["up"], ["nfs", "export"],
                 ["jobs", "plan"], ["jobs", "apply"], ["jobs", "render"], ["jobs", "discover"], ["build"], ["status"]):
        r = CliRunner().invoke(cli, [*path, "--help"])
        assert "-o, --output" in r.output, path


def test_build_c_means_check_scm_as_in_jenkins_cli(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["build", "team/app", "-c", "-s"], env={"JENKINS_URL": "http://127.0.0.1:9/"})
    assert r.exit_code == 16 and "check-scm" in r.output and "REST API" in r.output
    r = CliRunner().invoke(cli, ["build", "--help"])
    for flag in ("-c, --check-scm", "-s, --wait", "-f, --follow", "-w, --wait-start", "-v, --log", "-p, --param"):
        assert flag in r.output, flag


def test_version_and_help_start_fast() -> None:
    """--help and --version import no command module (lazy loading): well under 0.3 s."""
    code = ("import sys, time; t = time.perf_counter(); sys.argv = ['jenkins-kit', '--help'];\n"
            "from jenkins_kit.cli.main import cli\n"
            "try:\n    cli.main(prog_name='jenkins-kit')\nexcept SystemExit:\n    pass\n"
            "mods = [m for m in sys.modules if m.startswith(('jenkins_kit.cli.', 'pydantic', 'requests', 'rich', 'yaml', 'kubernetes'))]\n"
            "sys.stderr.write(repr(sorted(mods)))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.stderr.strip() == "['jenkins_kit.cli.main']", p.stderr
    for args in (["--help"], ["--version"]):
        best = min(_wall([sys.executable, "-m", "jenkins_kit", *args]) for _ in range(3))
        assert best < 0.3, (args, best)


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, capture_output=True, timeout=30, check=True)
    return time.perf_counter() - t0


def test_verbose_logs_http_traffic_with_secrets_masked(jenkins_double, tmp_path: Path) -> None:
    env = cli_env(jenkins_double)
    token = env["JENKINS_API_TOKEN"]
    runs = {
        "--debug": (["--debug", "status", "nope"], env),
        "-vv": (["-vv", "status", "nope"], env),
        "JENKINS_KIT_LOG": (["status", "nope"], {**env, "JENKINS_KIT_LOG": "debug"}),
        "quiet": (["status", "nope"], env),
    }
    for name, (args, e) in runs.items():
        p = subprocess.run([sys.executable, "-m", "jenkins_kit", *args], env=e, capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
        assert p.returncode == 13, (name, p.stderr)
        traffic = "GET /job/nope/lastBuild/api/json?tree=number%2Curl -> 404 in"
        assert (traffic in p.stderr) is (name != "quiet"), (name, p.stderr)  # the traffic is shown only when asked
        assert token not in p.stderr + p.stdout, name


def test_plurals(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(H + "repositories: [{name: a, git: 'https://e.com/a.git'}]\n")
    assert "(1 repository)" in CliRunner().invoke(cli, ["config", "validate", "-c", str(conf)]).output
    conf.write_text(H)
    assert "(0 repositories)" in CliRunner().invoke(cli, ["config", "validate", "-c", str(conf)]).output
    conf.write_text(H + "cluster: {namespace: 'A'}\n")
    assert "(1 problem)" in CliRunner().invoke(cli, ["config", "validate", "-c", str(conf)]).output


# ------------------------------------------------------------------ 14. apply what the plan showed


def test_saved_plan_applies_the_drift_it_showed_and_refuses_when_stale(jenkins_double, tmp_path: Path) -> None:
    d = jenkins_double
    data = yaml.safe_load(LAB.read_text())
    data["repositories"] = [{"name": "app", "git": "https://e.com/app.git", "job": {"folder": "team"}}]
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(data))
    env = {"JENKINS_URL": d.url, "JENKINS_USER_ID": d.user, "JENKINS_API_TOKEN": d.token}
    run = CliRunner().invoke
    assert run(cli, ["jobs", "apply", "-c", str(conf)], env=env).exit_code == 0
    with client_for(d) as c:  # someone edits the job in the UI: the marker still says "current"
        live = c.get_text("job/team/job/app/config.xml")
        c.post_xml("job/team/job/app/config.xml", live.replace("<sandbox>true</sandbox>", "<sandbox>false</sandbox>"), idempotent=True)
    plan = tmp_path / "jobs.plan"
    r = run(cli, ["jobs", "plan", "-c", str(conf), "--out", str(plan), "--detailed-exitcode"], env=env)
    assert r.exit_code == 2 and "drifted" in r.stdout
    # Without the plan, apply trusts the ownership markers (one request) and sees nothing to do...
    r = run(cli, ["jobs", "apply", "-c", str(conf)], env=env)
    assert r.exit_code == 0 and "No changes" in r.stdout
    # ...with it, apply does what the plan showed.
    r = run(cli, ["jobs", "apply", "--plan", str(plan)], env=env)
    assert r.exit_code == 0 and "1 updated" in r.stdout, r.output
    with client_for(d) as c:
        assert "<sandbox>true</sandbox>" in c.get_text("job/team/job/app/config.xml")
    # The same plan again is stale (its change is done): refused, nothing applied.
    r = run(cli, ["jobs", "apply", "--plan", str(plan)], env=env)
    assert r.exit_code == 20 and "stale" in r.output and "Traceback" not in r.output
    plan.write_text("{not json")
    r = run(cli, ["jobs", "apply", "--plan", str(plan)], env=env)
    assert r.exit_code == 16 and "cannot use" in r.output


def test_jobs_render_is_all_or_nothing_and_keeps_the_rest_of_a_bundle(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(H + "repositories: [{name: echo, git: 'https://e.com/x.git'}, {name: two, git: 'https://e.com/y.git'}]\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "jobs").write_text("in the way")
    r = CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out)])
    assert r.exit_code == 16 and "Traceback" not in r.output and sorted(p.name for p in out.iterdir()) == ["jobs"]
    (out / "jobs").unlink()
    assert CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out)]).exit_code == 0
    conf.write_text(H + "repositories: [{name: echo, git: 'https://e.com/x.git'}]\n")
    r = CliRunner().invoke(cli, ["jobs", "render", "-c", str(conf), "--out", str(out), "-o", "json"])
    assert r.exit_code == 0, r.output
    assert sorted(json.loads(r.stdout)["removed"]) == ["jobs/two/Jenkinsfile", "jobs/two/config.xml"]
    assert not (out / "jobs" / "two").exists() and (out / "jobs" / "echo" / "config.xml").is_file()
    assert (out / "helm" / "values.yaml").is_file()  # the rest of the bundle is not jobs render's business
    r = CliRunner().invoke(cli, ["render", "-c", str(conf), "--out", str(out), "-o", "json"])
    assert {f["status"] for f in json.loads(r.stdout)["files"]} == {"unchanged"}


# ------------------------------------------------------------------ the console script's quick exit

def test_quick_exit_flushes_large_output_and_runs_atexit_handlers(tmp_path: Path) -> None:
    """main() leaves with os._exit after the atexit handlers and a flush: a large JSON answer on a pipe
    arrives whole, and logging (shut down by an atexit handler) still writes its last line."""
    out = tmp_path / "out"
    p = _kit("jobs", "render", "-c", str(LAB), "--out", str(out), "-o", "json", "--help")
    assert p.returncode == 0 and "--out" in p.stdout
    p = _kit("--debug", "jobs", "render", "-c", str(LAB), "--out", str(out), "-o", "json")
    _no_traceback(p)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)  # whole: a cut-off answer does not parse
    assert len(doc["jobs"]) >= 3 and all(Path(j["dir"], "config.xml").is_file() for j in doc["jobs"])


def test_a_reader_that_went_away_is_exit_141_without_a_traceback() -> None:
    r, w = os.pipe()
    os.close(r)  # every write to w now fails with EPIPE
    try:
        base = {k: v for k, v in os.environ.items() if not k.startswith("JENKINS_")}
        base["PYTHONPATH"] = str(REPO) + os.pathsep + base.get("PYTHONPATH", "")
        p = subprocess.run([sys.executable, "-m", "jenkins_kit", "--help"], stdout=w, stderr=subprocess.PIPE, text=True,
                           timeout=30, env=base, stdin=subprocess.DEVNULL)
    finally:
        os.close(w)
    assert p.returncode == 141, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
