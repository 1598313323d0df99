"""Conformance: items — createItem (XML, copy, by mode) and its errors, config.xml, delete, enable/disable,
description, rename, listings (jenkins-remote-api.md §0, §3, §7), via the toolkit's client and python-jenkins."""

from __future__ import annotations

import jenkins as pyjenkins
import pytest
import requests

from jenkins_kit.jenkins import errors as jerr
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.xmlnorm import normalize
from tests.jenkins_double.xmlconf import identity_transform
from tests.test_conformance_support import (
    FOLDER_MODE,
    FOLDER_XML,
    PARAM_XML,
    XML,
    Target,
    create_job,
    jenkins_target,
    loose,
    pipeline_xml,
    sandbox,
)

MULTIBRANCH_XML = """<?xml version='1.0' encoding='UTF-8'?>
<org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject plugin="workflow-multibranch">
  <properties/>
  <sources class="jenkins.branch.MultiBranchProject$BranchSourceList" plugin="branch-api">
    <data>
      <jenkins.branch.BranchSource>
        <source class="jenkins.plugins.git.GitSCMSource" plugin="git">
          <id>repo-1</id><remote>https://example.com/org/repo.git</remote><credentialsId></credentialsId>
          <traits><jenkins.plugins.git.traits.BranchDiscoveryTrait/></traits>
        </source>
        <strategy class="jenkins.branch.DefaultBranchPropertyStrategy"><properties class="empty-list"/></strategy>
      </jenkins.branch.BranchSource>
    </data>
    <owner class="org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject" reference="../.."/>
  </sources>
  <factory class="org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory">
    <owner class="org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject" reference="../.."/>
    <scriptPath>Jenkinsfile</scriptPath>
  </factory>
</org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject>
"""


def _create(c: JenkinsClient, parent: str, name: str, xml: str | None = None, **kw: object) -> requests.Response:
    return c.post(f"{c.job_url_path(parent)}createItem", params={"name": name}, data=xml or pipeline_xml(),
                  headers=XML, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- createItem by XML
def test_create_from_xml_and_read_back(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    xml = pipeline_xml("first version")
    r = _create(c, sandbox, "app", xml)
    assert r.status_code == 200 and r.content == b"" and "Location" not in r.headers
    got = c.get(c.job_url_path(f"{sandbox}/app") + "config.xml")
    assert got.headers["Content-Type"].startswith("application/xml")
    assert "<description>first version</description>" in got.text
    info = c.get_json(c.job_url_path(f"{sandbox}/app"))
    assert info["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert info["fullName"] == f"{sandbox}/app" and info["name"] == "app"
    assert info["color"] == "notbuilt" and info["builds"] == [] and info["nextBuildNumber"] == 1
    assert info["lastBuild"] is None and info["buildable"] is True
    assert info["url"].endswith(f"/job/{sandbox}/job/app/")
    assert c.item_exists(f"{sandbox}/app") and not c.item_exists(f"{sandbox}/nope")


def test_names_are_case_insensitive(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "MixedCase")
    assert c.get_json(c.job_url_path(f"{sandbox}/mixedcase"), tree="name")["name"] == "MixedCase"
    with pytest.raises(jerr.BadRequestError) as e:
        _create(c, sandbox, "MIXEDCASE")
    assert "already exists" in e.value.server_message
    assert "MIXEDCASE" in e.value.server_message
    assert e.value.may_have_been_applied is False
    # python-jenkins' job_exists compares the returned name exactly, and raises on a case difference.
    pj = jenkins_target.pyj()
    assert pj.job_exists(f"{sandbox}/MixedCase") is True
    with pytest.raises(pyjenkins.JenkinsException):
        pj.job_exists(f"{sandbox}/mixedcase")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a?b", "‘?’ is an unsafe character"),
        ("a*b", "‘*’ is an unsafe character"),
        ("a%b", "‘%’ is an unsafe character"),
        ("a#b", "‘#’ is an unsafe character"),
        ("a[b]", "‘[’ is an unsafe character"),
        ("a:b", "‘:’ is an unsafe character"),
        ("a;b", "‘;’ is an unsafe character"),
        ("a|b", "‘|’ is an unsafe character"),
        ("..", "is not an allowed name"),
        ("trailing.", "A name cannot end with ‘.’"),
        ("", "No name is specified"),
    ],
)
def test_check_good_name_failures_are_400_with_x_error(jenkins_target: Target, sandbox: str, name: str, message: str) -> None:
    c = jenkins_target.client()
    with pytest.raises(jerr.BadRequestError) as e:
        _create(c, sandbox, name)
    assert e.value.status == 400
    assert loose(message) in loose(e.value.server_message)
    assert loose(message) in loose(e.value.message)
    assert e.value.headers.get("X-Error")


def test_allowed_odd_names(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    for name in ("with space", "a+b=c", "(x){y}~", "café"):
        _create(c, sandbox, name)
        assert c.get_json(c.job_url_path(f"{sandbox}/{name}"), tree="name")["name"] == name


def test_create_item_input_errors(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    where = c.job_url_path(sandbox) + "createItem"
    with pytest.raises(jerr.BadRequestError, match="No Content-Type header set"):
        c.post(where, params={"name": "x"}, data=b"<flow-definition/>")
    with pytest.raises(jerr.BadRequestError, match="Query parameter 'name' is required"):
        c.post(where, data=pipeline_xml(), headers=XML)
    with pytest.raises(jerr.BadRequestError, match="No mode given"):
        c.post(where, params={"name": "x"}, data={"foo": "bar"})
    with pytest.raises(jerr.BadRequestError) as unknown:
        c.post(where, params={"name": "x"}, data={"mode": "no.such.Type"})
    assert loose("No item type ‘no.such.Type’ is known") in loose(unknown.value.message)
    with pytest.raises(jerr.BadRequestError, match="Specify which job to copy"):
        c.post(where, params={"name": "x", "mode": "copy"})
    with pytest.raises(jerr.BadRequestError, match="No such job: ghost"):
        c.post(where, params={"name": "x", "mode": "copy", "from": "ghost"})
    assert not c.item_exists(f"{sandbox}/x")


def test_malformed_or_wrong_root_xml_is_500_and_nothing_is_created(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    for bad in ("<flow-definition><description>unclosed</flow-definition>", "<hudson.model.User/>"):
        with pytest.raises(jerr.ServerError) as e:
            _create(c, sandbox, "broken", bad)
        assert e.value.status == 500
        assert "A problem occurred while processing the request" in e.value.server_message
        assert e.value.may_have_been_applied is True  # a 500 on a non-idempotent POST: the caller must look
        assert not c.item_exists(f"{sandbox}/broken")


def test_create_in_missing_folder_or_under_a_job_is_404_naming_the_segment(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    with pytest.raises(jerr.NotFoundError) as e:
        _create(c, f"{sandbox}/ghost", "app")
    assert e.value.missing == f"{sandbox}/ghost"
    assert f"folder {sandbox!r} has no item 'ghost'" in e.value.message
    _create(c, sandbox, "plain")
    with pytest.raises(jerr.NotFoundError) as e2:
        _create(c, f"{sandbox}/plain", "child")
    assert "is not a folder" in e2.value.message


def test_create_by_mode_folder_and_nested_items(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    r = c.post(c.job_url_path(sandbox) + "createItem", params={"name": "sub"}, data={"mode": FOLDER_MODE})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/job/{sandbox}/job/sub/configure")
    _create(c, f"{sandbox}/sub", "deep")
    info = c.get_json(c.job_url_path(f"{sandbox}/sub/deep"))
    assert info["fullName"] == f"{sandbox}/sub/deep"
    folder = c.get_json(c.job_url_path(f"{sandbox}/sub"))
    assert folder["_class"] == "com.cloudbees.hudson.plugins.folder.Folder"
    assert [j["name"] for j in folder["jobs"]] == ["deep"]


def test_copy_job_is_not_buildable_until_saved(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "src")
    r = c.post(c.job_url_path(sandbox) + "createItem", params={"name": "dst", "mode": "copy", "from": "src"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/job/dst/configure")
    assert c.get_text(c.job_url_path(f"{sandbox}/dst") + "config.xml") == c.get_text(c.job_url_path(f"{sandbox}/src") + "config.xml")
    with pytest.raises(jerr.ConflictError) as e:
        c.post(c.job_url_path(f"{sandbox}/dst") + "build", params={"delay": "0sec"})
    assert e.value.status == 409 and "enable" in (e.value.hint or "")
    assert c.post(c.job_url_path(f"{sandbox}/dst") + "description", data={"description": "saved once"}).status_code == 204
    assert c.post(c.job_url_path(f"{sandbox}/dst") + "build", params={"delay": "0sec"}).status_code == 201


def test_multibranch_config_accepted_and_listed(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "mb", MULTIBRANCH_XML)
    listing = c.get_json(c.job_url_path(sandbox), tree="jobs[name,_class,color]")
    mb = next(j for j in listing["jobs"] if j["name"] == "mb")
    assert mb["_class"] == "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    assert "color" not in mb  # folders and multibranch projects have no color


# ---------------------------------------------------------------- config.xml
def test_config_xml_update_is_stored_as_transformed(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "cfg")
    path = c.job_url_path(f"{sandbox}/cfg") + "config.xml"
    new = pipeline_xml("second version")
    r = c.post_xml(path, new, idempotent=True)
    assert r.status_code == 200 and r.content == b""
    # AbstractItem.updateByXml commits what XMLUtils.safeTransform (an identity transform) wrote:
    # declaration rewritten, <x></x> -> <x/>, same elements and text [core 2.492.3]; what
    # jenkins-kit compares is the normalized form, which is unchanged
    got = c.get_text(path)
    assert got == identity_transform(new.encode()).decode()
    assert normalize(got) == normalize(new)
    with pytest.raises(jerr.ServerError):
        c.post_xml(path, "<flow-definition><oops></flow-definition>", idempotent=False)
    with pytest.raises(jerr.ServerError):  # a different root type
        c.post_xml(path, "<project/>", idempotent=False)
    assert c.get_text(path) == got  # the old config stays


def test_config_xml_of_missing_job_is_404(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    with pytest.raises(jerr.NotFoundError) as e:
        c.get_text(c.job_url_path(f"{sandbox}/absent") + "config.xml")
    assert e.value.missing == f"{sandbox}/absent"
    assert c.get(c.job_url_path(f"{sandbox}/absent") + "config.xml", allow_404=True).status_code == 404


# ---------------------------------------------------------------- enable / disable / description / rename / delete
def test_enable_disable(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "toggle")
    job = c.job_url_path(f"{sandbox}/toggle")
    r = c.post(job + "disable")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/job/{sandbox}/job/toggle/")
    info = c.get_json(job)
    assert info["color"] == "disabled" and info["buildable"] is False
    assert "disabled" not in info  # WorkflowJob exports no `disabled` before workflow-job 1532
    cfg = c.get_text(job + "config.xml")
    assert cfg.startswith("<?xml version='1.1' encoding='UTF-8'?>")  # re-serialized by save()
    assert "<disabled>true</disabled>" in cfg and 'plugin="workflow-job@' in cfg
    with pytest.raises(jerr.ConflictError):
        c.post(job + "build")
    assert c.post(job + "disable").status_code == 302  # no-op
    assert c.post(job + "enable").status_code == 302
    assert c.get_json(job, tree="buildable,color") == {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "buildable": True, "color": "notbuilt"}


def test_enable_requires_post(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "getme")
    with pytest.raises(jerr.MethodNotAllowedError) as e:
        c.get(c.job_url_path(f"{sandbox}/getme") + "enable")
    assert e.value.status == 405 and "POST" in e.value.headers.get("Allow", "")


def test_description(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "desc")
    job = c.job_url_path(f"{sandbox}/desc")
    assert c.post(job + "description", data={"description": "hello ‘world’"}).status_code == 204
    r = c.get(job + "description")
    assert r.headers["Content-Type"].lower().startswith("text/plain")
    assert c.get_text(job + "description") == "hello ‘world’"
    assert c.get_json(job, tree="description")["description"] == "hello ‘world’"
    with pytest.raises(jerr.BadRequestError):
        c.post(job + "description")


def test_rename(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "old")
    _create(c, sandbox, "taken")
    r = c.post(c.job_url_path(f"{sandbox}/old") + "confirmRename", params={"newName": "new"})
    assert r.status_code == 302
    assert c.item_exists(f"{sandbox}/new") and not c.item_exists(f"{sandbox}/old")
    with pytest.raises(jerr.BadRequestError, match="already in use"):
        c.post(c.job_url_path(f"{sandbox}/new") + "confirmRename", params={"newName": "taken"})


def test_delete_both_ways(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    _create(c, sandbox, "d1")
    _create(c, sandbox, "d2")
    r = c.post(c.job_url_path(f"{sandbox}/d1") + "doDelete")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/job/{sandbox}/")
    assert c.delete(c.job_url_path(f"{sandbox}/d2")).status_code == 204
    assert not c.item_exists(f"{sandbox}/d1") and not c.item_exists(f"{sandbox}/d2")
    with pytest.raises(jerr.NotFoundError):
        c.delete(c.job_url_path(f"{sandbox}/d2"))
    assert c.delete(c.job_url_path(f"{sandbox}/d2"), missing_ok=True).status_code == 404


# ---------------------------------------------------------------- listings, tree and depth
def test_listing_sorted_case_insensitively_with_depth_and_tree(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    for n in ("beta", "Alpha", "gamma"):
        _create(c, sandbox, n)
    c.post(c.job_url_path(sandbox) + "createItem", params={"name": "Dir"}, data={"mode": FOLDER_MODE})
    folder = c.get_json(c.job_url_path(sandbox))
    assert [j["name"] for j in folder["jobs"]] == ["Alpha", "beta", "Dir", "gamma"]
    alpha = folder["jobs"][0]
    assert set(alpha) == {"_class", "name", "url", "color"}  # depth 0: only visibility-2 fields
    assert "color" not in folder["jobs"][2]
    deeper = c.get_json(c.job_url_path(sandbox), depth=1)
    assert "builds" in deeper["jobs"][0]
    tree = c.get_json(c.job_url_path(sandbox), tree="jobs[name]")
    assert tree["jobs"][0] == {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "Alpha"}
    sliced = c.get_json(c.job_url_path(sandbox), tree="jobs[name]{1,3}")
    assert [j["name"] for j in sliced["jobs"]] == ["beta", "Dir"]


def test_root_listing_contains_sandbox_folder(jenkins_target: Target, sandbox: str) -> None:
    c = jenkins_target.client()
    root = c.get_json("", tree="jobs[name,url]")
    mine = [j for j in root["jobs"] if j["name"] == sandbox]
    assert mine and mine[0]["url"].endswith(f"/job/{sandbox}/")
    assert not any(j["name"].startswith("__double__") for j in root["jobs"])


# ---------------------------------------------------------------- python-jenkins against the same endpoints
def test_python_jenkins_item_lifecycle(jenkins_target: Target, sandbox: str) -> None:
    pj = jenkins_target.pyj()
    name = f"{sandbox}/pj"
    pj.create_job(name, pipeline_xml("via python-jenkins"))
    assert pj.job_exists(name) is True
    assert "via python-jenkins" in pj.get_job_config(name)
    pj.reconfig_job(name, pipeline_xml("reconfigured"))
    assert "reconfigured" in pj.get_job_config(name)
    info = pj.get_job_info(name)
    assert info["fullName"] == name and info["color"] == "notbuilt"
    pj.disable_job(name)
    assert pj.get_job_info(name)["color"] == "disabled"
    pj.enable_job(name)
    pj.copy_job(name, f"{sandbox}/pj-copy")
    assert pj.job_exists(f"{sandbox}/pj-copy")
    with pytest.raises(pyjenkins.JenkinsException, match="already exists"):
        pj.create_job(name, pipeline_xml())  # raised before posting
    pj.create_folder(f"{sandbox}/pjfolder")
    assert pj.is_folder(f"{sandbox}/pjfolder")
    pj.delete_job(name)
    assert pj.job_exists(name) is None
    with pytest.raises(pyjenkins.JenkinsException, match="folder for the job does not exist"):
        pj.create_job(f"{sandbox}/ghost/x", pipeline_xml())
    with pytest.raises(pyjenkins.NotFoundException):
        pj.get_job_config(f"{sandbox}/absent")


def test_python_jenkins_error_mapping(jenkins_target: Target, sandbox: str) -> None:
    """python-jenkins turns 400 into a bare requests.HTTPError and 500 into a JenkinsException; ours types both."""
    pj = jenkins_target.pyj()
    with pytest.raises(requests.HTTPError) as e:
        pj.create_job(f"{sandbox}/bad?name", pipeline_xml())
    assert e.value.response.status_code == 400
    assert "unsafe character" in jerr.fix_header_text(e.value.response.headers.get("X-Error", ""))
    with pytest.raises(pyjenkins.JenkinsException, match=r"\[500\]"):
        pj.create_job(f"{sandbox}/broken", "<flow-definition><x></flow-definition>")
