"""Issue 13: jobs that would run in the textbook lab (agent any, compile-then-image, environments,
credentials) and several configs sharing one Jenkins."""

from __future__ import annotations

import yaml

from jenkins_kit.jcasc_schema import check
from jenkins_kit.render.jcasc import render_jcasc
from tests.helpers import config_with, sample_config


def _template(cfg) -> dict:
    cloud = yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])
    return cloud["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]


def test_default_template_takes_unlabelled_work_like_the_book():
    t = _template(sample_config())
    # kubernetes-plugin PodTemplateLabelFilter#transform: a build with no label (agent any, freestyle)
    # is provisioned only from a NORMAL template.
    assert t["nodeUsageMode"] == "NORMAL" and t["label"] == "jenkins-kit-agent"


def test_usage_mode_and_label_are_config_choices_and_pass_the_gate():
    cfg = config_with(agents={"usage_mode": "EXCLUSIVE", "label": "team-a"})
    t = _template(cfg)
    assert t["nodeUsageMode"] == "EXCLUSIVE" and t["label"] == "team-a" and t["name"] == "team-a"
    assert check(yaml.safe_load(render_jcasc(cfg)["jenkins-kit-cloud"])) == []


# ------------------------------------------------------------------------------------ ownership per config
def _cli_config(tmp_path, name: str, owner: str | None, repos: list[dict]) -> str:
    from tests.helpers import SAMPLE

    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["repositories"] = repos
    if owner:
        data.setdefault("jobs", {})["owner"] = owner
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(p)


def _run(d, *args: str):
    import json

    from click.testing import CliRunner

    from jenkins_kit.cli.main import cli

    env = {"JENKINS_URL": d.url, "JENKINS_USER_ID": d.user, "JENKINS_API_TOKEN": d.token}
    r = CliRunner().invoke(cli, ["jobs", *args, "--json"], env=env)
    assert r.exit_code in (0, 2), r.output
    return json.loads(r.stdout)


def _states(doc) -> dict[str, str]:
    changes = doc["plan"]["changes"] if "plan" in doc else doc["changes"]
    return {c["name"]: c["state"] for c in changes}


def test_two_configs_share_one_jenkins_and_never_touch_each_other(jenkins_double, tmp_path):
    from tests.test_jobs_sync import client_for

    d = jenkins_double
    a_repos = [{"name": "a1", "git": "https://e.com/a1.git", "job": {"folder": "shared"}},
               {"name": "a2", "git": "https://e.com/a2.git"}]
    b_repos = [{"name": "b1", "git": "https://e.com/b1.git", "job": {"folder": "shared"}},
               {"name": "b2", "git": "https://e.com/b2.git"}]
    a = _cli_config(tmp_path, "a", "team-a", a_repos)
    b = _cli_config(tmp_path, "b", "team-b", b_repos)
    assert _run(d, "apply", "-c", a, "--prune", "delete")["apply"]["ok"]
    doc = _run(d, "apply", "-c", b, "--prune", "delete")
    assert doc["apply"]["ok"]
    st = _states(doc)
    # B sees A's jobs as another config's, and A's folder as not its own: nothing of A's is pending
    assert st["a2"] == "other" and st["shared/a1"] == "other" and st["shared"] == "foreign"
    assert {c["name"] for c in doc["plan"]["changes"] if c["op"]} == {"shared/b1", "b2"}

    with client_for(d) as c:
        snapshot = {n: c.get_text(c.job_url_path(n) + "config.xml") for n in ("shared/b1", "b2")}
        # a UI copy of A's job (same description, so the same marker) under another name
        c.post("createItem", params={"name": "a2-copy", "mode": "copy", "from": "a2"})
        assert "team-a" in c.get_json(c.job_url_path("a2-copy"), tree="description")["description"]

    # A drops a2 and everything in the shared folder, and prunes with delete
    a = _cli_config(tmp_path, "a", "team-a", [])
    plan = _run(d, "plan", "-c", a, "--prune", "delete")
    st = _states(plan)
    assert st["a2"] == "orphaned" and st["shared/a1"] == "orphaned" and st["shared/b1"] == "other" and st["b2"] == "other"
    assert "a2-copy" not in st  # not ours: a copy is never pruned
    ops = {c["name"]: c["op"] for c in plan["changes"]}
    assert ops["a2"] == "delete" and ops["shared/a1"] == "delete" and ops["shared"] == ""  # holds B's job
    assert _run(d, "apply", "-c", a, "--prune", "delete")["apply"]["ok"]

    with client_for(d) as c:
        from jenkins_kit.jenkins.jobs import list_items

        live = list_items(c)
        assert "a2" not in live and "shared/a1" not in live
        assert {"shared", "a2-copy", "shared/b1", "b2"} <= set(live)
        for n, xml in snapshot.items():
            assert c.get_text(c.job_url_path(n) + "config.xml") == xml  # B's jobs byte for byte untouched

    # B is still clean; with --adopt A would not take B's job, but it does take the UI copy
    assert _run(d, "plan", "-c", b, "--prune", "delete")["pending"] == 0
    a = _cli_config(tmp_path, "a", "team-a", [{"name": "a2-copy", "git": "https://e.com/a2.git"},
                                               {"name": "b2", "git": "https://e.com/b2.git"}])
    plan = _run(d, "plan", "-c", a, "--adopt")
    st = _states(plan)
    assert st["a2-copy"] == "adopt" and st["b2"] == "foreign"
    reason = next(c["reason"] for c in plan["changes"] if c["name"] == "b2")
    assert "team-b" in reason


def test_legacy_markers_belong_to_the_default_owner_only(jenkins_double, tmp_path):
    from tests.test_jobs_sync import client_for

    d = jenkins_double
    legacy = ("<flow-definition><description>old\n\n[managed by jenkins-kit; spec 0123456789abcdef]</description>"
              "</flow-definition>")
    with client_for(d) as c:
        c.post_xml("createItem", legacy, params={"name": "old"})
    default = _cli_config(tmp_path, "default", None, [])
    named = _cli_config(tmp_path, "named", "team-a", [])
    assert _states(_run(d, "plan", "-c", named, "--prune", "delete")) == {}  # not claimed, never pruned
    plan = _run(d, "plan", "-c", default, "--prune", "delete")
    assert {c["name"]: c["op"] for c in plan["changes"]} == {"old": "delete"}
