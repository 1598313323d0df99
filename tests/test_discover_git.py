"""Discovery from real git repositories created here, read over file:// and over `git daemon` (loopback)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from jenkins_kit.cli.main import cli
from jenkins_kit.discover import discover, discover_one, repo_name
from jenkins_kit.render.jobs import render_jobs
from tests.test_render_jobs import base_config

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}


def git(cwd: Path, *args: str) -> str:
    import os

    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


def make_repo(root: Path, name: str, files: dict[str, str], branch: str = "main", extra_commits: int = 0) -> Path:
    work = root / "work" / name
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", branch)
    for i in range(extra_commits):  # some history that a shallow read must not need
        (work / "HISTORY").write_text(f"{i}\n")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", f"old {i}")
    for rel, text in files.items():
        p = work / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    if files:
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "content")
    bare = root / "srv" / f"{name}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    return bare


DEPLOY = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop-web\nspec: {}\n"


@pytest.fixture
def repos(tmp_path):
    r = {}
    r["shop"] = make_repo(tmp_path, "Shop_Service", {
        "svc/Dockerfile": "FROM scratch\n", "tools/Dockerfile": "FROM scratch\n", "pom.xml": "<project/>\n",
        "k8s/kustomization.yaml": "resources: [deployment.yaml]\n", "k8s/deployment.yaml": DEPLOY,
    }, branch="trunk", extra_commits=3)
    # a second branch the discovery must not read
    work = tmp_path / "work" / "Shop_Service"
    git(work, "checkout", "-q", "-b", "feature")
    (work / "Jenkinsfile").write_text("pipeline {}\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "feature")
    git(work, "push", "-q", str(r["shop"]), "feature")
    r["scm"] = make_repo(tmp_path, "with-jenkinsfile", {"Dockerfile": "FROM scratch\n", "Jenkinsfile": "pipeline {}\n", "go.mod": "module x\n"})
    r["override"] = make_repo(tmp_path, "over", {
        "Dockerfile": "FROM scratch\n", "package.json": "{}\n", "deploy/app.yaml": DEPLOY,
        ".jenkins-kit.yaml": "name: storefront\nimage: team/storefront\nbranch: release\n"
                             "deploy: {generate: {replicas: 2}}\njob: {folder: shop, keep_builds: 5}\ndescription: \"it's \\\"hostile\\\" ${x}\"\n",
    })
    r["empty"] = make_repo(tmp_path, "empty", {})
    r["bad"] = make_repo(tmp_path, "bad", {"Dockerfile": "FROM scratch\n", ".jenkins-kit.yaml": "branch: 'a b'\n"})
    return r


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def git_daemon(repos):
    base = next(iter(repos.values())).parent
    port = _free_port()
    p = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}", "--listen=127.0.0.1",
                          f"--port={port}", str(base)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        p.terminate()
        p.wait(5)


def _check_shop(entry: dict, git_value: str) -> None:
    assert entry["name"] == "shop-service"
    assert entry["git"] == git_value
    assert entry["branch"] == "trunk"
    assert entry["dockerfile"] == "svc/Dockerfile" and entry["context"] == "svc"
    assert entry["deploy"] == {"manifests": "k8s", "deployment": "shop-web"}
    assert entry["job"] == {"template": "maven"}


def test_file_url_and_local_path(repos):
    r = discover_one(repos["shop"].as_uri())
    assert r.error is None, r.error
    _check_shop(r.entry, repos["shop"].as_uri())
    assert any("several Dockerfiles" in n for n in r.notes)
    r = discover_one(str(repos["shop"]))
    _check_shop(r.entry, str(repos["shop"]))


def test_over_git_daemon(repos, git_daemon):
    res = discover([f"{git_daemon}/Shop_Service.git", f"{git_daemon}/with-jenkinsfile.git", f"{git_daemon}/over.git"])
    assert [x.error for x in res] == [None, None, None]
    _check_shop(res[0].entry, f"{git_daemon}/Shop_Service.git")
    scm = res[1].entry
    assert scm["job"] == {"jenkinsfile": "scm"} and scm["deploy"] == {"generate": {"replicas": 1}}
    assert res[1].language == "go"
    over = res[2].entry
    assert over["name"] == "storefront" and over["image"] == "team/storefront" and over["branch"] == "release"
    assert over["deploy"] == {"generate": {"replicas": 2}}  # the override replaces derived manifests
    assert over["job"] == {"template": "node", "folder": "shop", "keep_builds": 5}
    assert over["description"] == 'it\'s "hostile" ${x}'


def test_errors_are_per_repository(repos, tmp_path):
    res = discover([str(repos["empty"]), str(repos["bad"]), str(tmp_path / "nope"), str(repos["scm"])])
    assert "empty" in res[0].error
    assert "branch" in res[1].error
    assert "neither a git URL nor an existing path" in res[2].error
    assert res[3].error is None


def test_cli_yaml_is_a_valid_repositories_section_and_renders(repos):
    runner = CliRunner()
    out = runner.invoke(cli, ["jobs", "discover", repos["shop"].as_uri(), str(repos["scm"]), str(repos["override"])])
    assert out.exit_code == 0, out.output
    data = yaml.safe_load(out.stdout)
    cfg = base_config(data["repositories"])
    names = [j.full_name for j in render_jobs(cfg)]
    assert names == ["shop", "shop-service", "with-jenkinsfile", "shop/storefront"]
    js = runner.invoke(cli, ["jobs", "discover", "--json", str(repos["scm"]), str(repos["empty"])])
    assert js.exit_code == 18
    doc = json.loads(js.stdout)
    assert [r["name"] for r in doc["repositories"]] == ["with-jenkinsfile"] and doc["errors"][0]["error"]


def test_repo_names():
    assert repo_name("https://h/org/My.Repo.git") == "my-repo"
    assert repo_name("git@h:org/x_y.git") == "x-y"
    assert repo_name("/srv/git/___") == "repo"
