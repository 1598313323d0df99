"""jobs plan/apply against the Jenkins double over HTTP: drift, re-save noise, ownership, prune, faults."""

from __future__ import annotations

import pytest

from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.jobs import apply_plan, list_items, plan_jobs, sync
from jenkins_kit.jenkins.settings import JenkinsSettings
from jenkins_kit.jenkins.xmlnorm import normalize
from jenkins_kit.render.jobs import marker, parse_marker, render_jobs
from tests.test_render_jobs import base_config, shapes_config


def client_for(d, **opts) -> JenkinsClient:
    opts.setdefault("backoff_base", 0.01)
    opts.setdefault("backoff_max", 0.05)
    opts.setdefault("unavailable_wait", 5.0)
    s = JenkinsSettings.resolve(url=d.url, user=d.user, token=d.token, timeout=10.0, env={}, **opts)
    return JenkinsClient(s)


def states(jp) -> dict[str, str]:
    return {c.name: c.state for c in jp.changes}


def many_jobs(n: int, folders: int, tweak: str = "") -> list:
    repos = [{"name": f"app-{i:04d}", "git": f"https://git.example.com/org/app-{i:04d}.git",
              "description": f"app {i}{tweak}", "job": {"folder": f"team-{i % folders:02d}"}} for i in range(n)]
    return render_jobs(base_config(repos))


def test_create_clean_drift_restore_clean(jenkins_double):
    d = jenkins_double
    desired = render_jobs(shapes_config())
    with client_for(d) as c:
        jp = plan_jobs(c, desired, verify=True)
        assert set(states(jp).values()) == {"create"} and len(jp.pending) == len(desired)
        _, rep = sync(c, desired)
        assert rep.ok, rep.failures
        jp = plan_jobs(c, desired, verify=True)
        assert not jp.pending and set(states(jp).values()) == {"unchanged"}

        # the no-op re-run reads one listing request
        d.clear_requests()
        jp, rep = sync(c, desired)
        assert not jp.pending and rep.ok
        reqs = d.requests()
        assert len(reqs) == 1 and reqs[0]["path"].startswith("/api/json?tree=")

        # a user edits the job in Jenkins (the description keeps our marker)
        web = "team/frontend/web"
        live = c.get_text(c.job_url_path(web) + "config.xml")
        edited = live.replace("stage('Rollout')", "stage('Rollout by hand')")
        assert edited != live
        c.post_xml(c.job_url_path(web) + "config.xml", edited, idempotent=True)

        jp = plan_jobs(c, desired, verify=True)
        assert states(jp)[web] == "drifted"
        assert [ch.name for ch in jp.pending] == [web]
        ch = jp.pending[0]
        assert "-    stage('Rollout by hand') {" in ch.diff and "+    stage('Rollout') {" in ch.diff
        # without --verify the marker cannot see it (documented): nothing pending
        assert not plan_jobs(c, desired, verify=False).pending

        jp, rep = sync(c, desired, verify=True)
        assert rep.ok and [o.name for o in rep.outcomes] == [web]
        jp = plan_jobs(c, desired, verify=True)
        assert not jp.pending
        assert normalize(c.get_text(c.job_url_path(web) + "config.xml")) == normalize(
            next(j for j in desired if j.full_name == web).config_xml)


def test_resaved_config_is_not_a_change(jenkins_double):
    d = jenkins_double
    desired = render_jobs(shapes_config())
    with client_for(d) as c:
        assert sync(c, desired)[1].ok
        # disable + enable calls save(): Jenkins re-serializes every config (plugin="x@v", XML 1.1, escapes)
        for j in desired:
            if j.kind == "pipeline":
                steps = ("enable", "disable") if j.full_name == "off" else ("disable", "enable")
                for step in steps:
                    c.post(c.job_url_path(j.full_name) + step, idempotent=True)
            else:  # folders and multibranch projects: saving the same description re-serializes them
                desc = list_items(c, 4)[j.full_name.lower()].description
                c.post(c.job_url_path(j.full_name) + "submitDescription", data={"description": desc}, idempotent=True)
        resaved = c.get_text(c.job_url_path("echo") + "config.xml")
        assert "healthMetrics" in c.get_text(c.job_url_path("team/lib") + "config.xml")
        assert 'plugin="workflow-job@' in resaved and resaved != next(j for j in desired if j.full_name == "echo").config_xml
        jp = plan_jobs(c, desired, verify=True)
        assert not jp.pending, [(ch.name, ch.diff) for ch in jp.pending]


def test_foreign_jobs_are_never_touched(jenkins_double):
    d = jenkins_double
    desired = render_jobs(base_config([
        {"name": "mine", "git": "https://e.com/mine.git", "job": {"folder": "ours"}},
        {"name": "taken", "git": "https://e.com/taken.git"},
    ]))
    foreign_xml = "<flow-definition><description>hand made</description></flow-definition>"
    with client_for(d) as c:
        c.post_xml("createItem", foreign_xml, params={"name": "taken"})
        c.post_xml("createItem", foreign_xml, params={"name": "bystander"})
        assert sync(c, desired)[1].ok
        # someone puts their own job inside our folder
        c.post_xml(c.job_url_path("ours") + "createItem", foreign_xml, params={"name": "theirs"})
        before = {n: c.get_text(c.job_url_path(n) + "config.xml") for n in ("taken", "bystander", "ours/theirs")}

        jp = plan_jobs(c, desired, verify=True, prune="delete")
        assert states(jp)["taken"] == "foreign" and not jp.pending
        # the folder and our job go away from the config: the job is deleted, the folder is kept
        jp, rep = sync(c, [], prune="delete", owner="jenkins.jenkins")
        assert rep.ok
        st = states(jp)
        assert st == {"ours/mine": "orphaned", "ours": "orphaned"}
        assert {ch.name: ch.op for ch in jp.changes} == {"ours/mine": "delete", "ours": ""}
        assert "not managed by jenkins-kit" in next(ch.reason for ch in jp.changes if ch.name == "ours")
        live = list_items(c)
        assert "ours/mine" not in live and "ours" in live
        for n, xml in before.items():
            assert c.get_text(c.job_url_path(n) + "config.xml") == xml  # byte for byte untouched

        # --adopt takes a foreign job over; then it is ours
        jp, rep = sync(c, desired, adopt=True)
        assert rep.ok and states(jp)["taken"] == "adopt"
        assert parse_marker(list_items(c)["taken"].description)
        assert not plan_jobs(c, desired, verify=True).pending


def test_prune_disable_and_delete_only_owned(jenkins_double):
    d = jenkins_double
    desired = render_jobs(base_config([
        {"name": "a", "git": "https://e.com/a.git", "job": {"folder": "f"}},
        {"name": "b", "git": "https://e.com/b.git", "job": {"folder": "f"}},
    ]))
    with client_for(d) as c:
        assert sync(c, desired)[1].ok
        keep = [j for j in desired if j.full_name != "f/b"]
        jp = plan_jobs(c, keep)
        assert states(jp)["f/b"] == "orphaned" and not jp.pending  # ignore is the default
        jp, rep = sync(c, keep, prune="disable")
        assert rep.ok and [o.op for o in rep.outcomes] == ["disable"]
        assert list_items(c)["f/b"].is_disabled
        assert not plan_jobs(c, keep, prune="disable").pending  # already disabled
        jp, rep = sync(c, keep, prune="delete")
        assert rep.ok and [o.op for o in rep.outcomes] == ["delete"]
        assert "f/b" not in list_items(c)
        assert not plan_jobs(c, keep, prune="delete").pending


def test_update_when_the_desired_spec_changes(jenkins_double):
    d = jenkins_double
    with client_for(d) as c:
        v1 = many_jobs(20, 4)
        assert sync(c, v1)[1].ok
        v2 = many_jobs(20, 4, tweak=" v2")
        d.clear_requests()
        jp, rep = sync(c, v2)
        assert rep.ok and {ch.state for ch in jp.pending} == {"update"} and len(jp.pending) == 20
        # one listing + one POST config.xml per changed job
        reqs = d.requests()
        assert len(reqs) == 21 and sum(r["method"] == "POST" for r in reqs) == 20
        jp = plan_jobs(c, v2, verify=True)
        assert not jp.pending


@pytest.mark.parametrize("retries", [0, 2])
def test_apply_of_200_jobs_under_faults_converges(jenkins_double, retries):
    d = jenkins_double
    desired = many_jobs(200, 10)
    by = {j.full_name: j for j in desired}
    with client_for(d, retries=retries) as c:
        jp1 = plan_jobs(c, desired, diffs=False)
        d.set_faults(error_rate=0.1, drop_rate=0.05, unavailable_s=0.3)
        rep1 = apply_plan(c, jp1, workers=8)
        d.set_faults()
        assert d.stats["errors_injected"] > 0 and d.stats["dropped"] > 0
        live = list_items(c)
        # the report is accurate: everything reported done is there as desired; failures carry a reason
        assert len(rep1.outcomes) == len(jp1.pending) == 210
        for o in rep1.outcomes:
            if o.ok:
                assert parse_marker(live[o.name.lower()].description) == by[o.name].spec_hash, o
            else:
                assert o.message
        if retries == 0:
            assert rep1.failures  # with no client retries some must fail at these rates
        # one re-run finishes the rest
        _, rep2 = sync(c, desired, workers=8)
        assert rep2.ok, rep2.failures
        assert {o.name for o in rep2.outcomes} <= {o.name for o in rep1.failures}
        assert not plan_jobs(c, desired, verify=True).pending
        # every desired job exists exactly once, with the desired config
        live = list_items(c)
        assert sorted(live) == sorted(j.full_name.lower() for j in desired)
        for name in ("team-00/app-0000", "team-09/app-0199"):
            assert normalize(c.get_text(c.job_url_path(name) + "config.xml")) == normalize(by[name].config_xml)


def test_partial_failure_reports_server_message_and_rerun_finishes(jenkins_double):
    d = jenkins_double
    # a job whose folder is blocked by a foreign *job* of the same name cannot be created
    desired = render_jobs(base_config([
        {"name": "ok1", "git": "https://e.com/ok1.git"},
        {"name": "inside", "git": "https://e.com/inside.git", "job": {"folder": "blocked"}},
        {"name": "ok2", "git": "https://e.com/ok2.git"},
    ]))
    with client_for(d) as c:
        # make createItem of "ok2" fail with a server message: a name Jenkins refuses case-insensitively
        c.post_xml("createItem", "<flow-definition/>", params={"name": "blocked"})
        jp, rep = sync(c, desired)
        st = states(jp)
        assert st["blocked"] == "foreign"
        fails = {o.name: o.message for o in rep.failures}
        assert set(fails) == {"blocked/inside"}, fails
        assert "HTTP 404" in fails["blocked/inside"] or "404" in fails["blocked/inside"]
        assert {o.name for o in rep.outcomes if o.ok} == {"ok1", "ok2"}
        # remove the obstacle; a re-run finishes the rest
        c.delete(c.job_url_path("blocked"))
        jp, rep = sync(c, desired)
        assert rep.ok and {o.name for o in rep.outcomes} == {"blocked", "blocked/inside"}


def test_hostile_values_survive_the_round_trip_through_jenkins(jenkins_double):
    """Values that break naive templating go to Jenkins and come back exactly; re-saves stay clean."""
    d = jenkins_double
    nasty = "it's \"quoted\" \\ ${x} $(id) ''' \"\"\" </description> ]]> <![CDATA[ é 日本 \U0001F600\nline2\r\n\ttab"
    desired = render_jobs(base_config([
        {"name": "h1", "git": "https://e.com/o'r\"g/${x}]]>.git", "branch": "feat/'\"${x}'''", "description": nasty,
         "job": {"folder": "fo'ld\"er {x} 日本 (é)", "parameters": [{"name": "P", "default": nasty, "description": nasty},
                                                               {"name": "C", "type": "choice", "choices": [nasty, "b"]}]}},
        {"name": "h2", "git": "https://e.com/x.git", "job": {"type": "multibranch", "folder": "fo'ld\"er {x} 日本 (é)",
                                                              # paths refuse control characters (schema)
                                                              "script_path": nasty.replace("\n", "").replace("\r", "").replace("\t", "")}},
    ]))
    with client_for(d) as c:
        _, rep = sync(c, desired)
        assert rep.ok, rep.failures
        live = list_items(c, 3)
        h1 = next(j for j in desired if j.name == "h1")
        assert live[h1.full_name.lower()].description == nasty + "\n\n" + marker(h1.spec_hash, "jenkins.jenkins", h1.full_name)
        info = c.get_json(c.job_url_path(h1.full_name), tree="property[parameterDefinitions[name,defaultParameterValue[value],choices]]")
        params = {p["name"]: p for prop in info["property"] for p in prop.get("parameterDefinitions", [])}
        assert params["P"]["defaultParameterValue"]["value"] == nasty
        assert params["C"]["choices"] == [nasty, "b"]
        assert not plan_jobs(c, desired, verify=True).pending
        c.post(c.job_url_path(h1.full_name) + "disable", idempotent=True)
        c.post(c.job_url_path(h1.full_name) + "enable", idempotent=True)
        assert not plan_jobs(c, desired, verify=True).pending


def test_prune_delete_removes_owned_folders_below_the_first_listing(jenkins_double):
    """Folders deeper than the first listing are listed again; once read they are not 'unknown'."""
    d = jenkins_double
    deep = [{"name": "x", "git": "https://e.com/x.git", "job": {"folder": "Old/Sub/Deeper"}},
            {"name": "y", "git": "https://e.com/y.git"}]
    with client_for(d) as c:
        _, rep = sync(c, render_jobs(base_config(deep)))
        assert rep.ok, rep.failures
        jp, rep = sync(c, render_jobs(base_config(deep[1:])), prune="delete")
        assert rep.ok, rep.failures
        assert {ch.name for ch in jp.pending if ch.op == "delete"} == {"Old", "Old/Sub", "Old/Sub/Deeper", "Old/Sub/Deeper/x"}
        assert set(list_items(c)) == {"y"}
        jp, _ = sync(c, render_jobs(base_config(deep[1:])), prune="delete")
        assert not jp.pending


def test_a_job_disabled_by_prune_is_enabled_again_when_it_returns(jenkins_double):
    d = jenkins_double
    both = [{"name": "alpha", "git": "https://e.com/a.git"}, {"name": "beta", "git": "https://e.com/b.git"}]
    with client_for(d) as c:
        sync(c, render_jobs(base_config(both)))
        jp, rep = sync(c, render_jobs(base_config(both[:1])), prune="disable")
        assert rep.ok and [ch.name for ch in jp.pending] == ["beta"]
        assert list_items(c)["beta"].is_disabled
        d.clear_requests()
        jp, rep = sync(c, render_jobs(base_config(both)))  # beta is desired again: no --verify needed
        assert rep.ok and states(jp)["beta"] == "drifted" and "disabled" in jp.pending[0].reason
        assert not list_items(c)["beta"].is_disabled
        jp, _ = sync(c, render_jobs(base_config(both)))
        assert not jp.pending
