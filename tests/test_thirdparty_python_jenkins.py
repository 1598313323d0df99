"""python-jenkins (PyPI; the library under Jenkins Job Builder) drives the double across the surface a
job-management tool uses.  Each assertion says what Jenkins does and where in its source."""
from __future__ import annotations

import jenkins
import pytest

from tests.helpers import until
from tests.test_double_basics import PIPELINE
from tests.test_double_items import PARAMS

LIST_VIEW = """<?xml version="1.0" encoding="UTF-8"?>
<hudson.model.ListView>
  <name>v</name>
  <description>mine</description>
  <filterExecutors>false</filterExecutors>
  <filterQueue>false</filterQueue>
  <properties class="hudson.model.View$PropertyList"/>
  <jobNames><comparator class="hudson.util.CaseInsensitiveComparator"/><string>app</string></jobNames>
  <jobFilters/>
  <columns/>
  <recurse>false</recurse>
</hudson.model.ListView>"""


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


@pytest.fixture
def server(d) -> jenkins.Jenkins:
    s = jenkins.Jenkins(d.url, username=d.user, password=d.password, timeout=10)
    s.get_whoami()  # python-jenkins applies auth lazily; the first call of some helpers is anonymous
    return s




def test_connect_version_whoami_crumb(d, server):
    # X-Jenkins on every response [core hudson/Functions.java advertiseHeaders; Api.setHeaders]
    assert server.get_version() == d.version
    # /me/api/json: Jenkins.getMe() -> the User bean (id, fullName, ...) [core Jenkins.java getMe,
    # hudson/model/User.java @Exported]
    who = server.get_whoami()
    assert who["id"] == d.user and who["_class"] == "hudson.model.User"
    # password auth needs a crumb for POSTs: python-jenkins reads crumbIssuer/api/json
    # ({crumb, crumbRequestField}) and sends it in the named header [core DefaultCrumbIssuer]
    server.create_job("crumbed", PIPELINE)
    assert server.crumb and server.crumb["crumbRequestField"] == "Jenkins-Crumb"
    assert server.get_info()["useCrumbs"] is True


def test_jobs_and_nested_folders_with_tree_and_depth(server):
    server.create_folder("team")
    server.create_folder("team/sub")
    server.create_job("team/sub/app", PIPELINE)
    server.create_job("top", PIPELINE)
    # get_all_jobs walks folders with api/json?tree=jobs[url,color,name,jobs] recursively
    # [stapler NamedPathPruner: tree= picks properties; folder AbstractFolder "jobs"]
    names = sorted(j["fullname"] for j in server.get_all_jobs())
    assert names == ["team", "team/sub", "team/sub/app", "top"]
    # get_jobs(folder_depth=...) uses depth=: ByDepth(1 - depth) [stapler export/TreePruner.ByDepth]
    assert sorted(j["fullname"] for j in server.get_jobs(folder_depth=0)) == ["team", "top"]
    assert server.jobs_count() == 4
    assert server.is_folder("team") and not server.is_folder("top")
    # get_job_info(depth=1) shows nested objects one level deeper
    info = server.get_job_info("team/sub/app", depth=1)
    assert info["fullName"] == "team/sub/app" and info["builds"] == []


def test_create_get_update_copy_rename_delete(server):
    server.create_job("app", PIPELINE)
    # createItem with XML -> 200; config.xml is the safeTransform (identity transform) output
    # [core ItemGroupMixIn.createProjectFromXML]
    cfg = server.get_job_config("app")
    assert cfg.startswith('<?xml version="1.0" encoding="UTF-8"?><flow-definition')
    server.reconfig_job("app", PIPELINE.replace("demo", "second"))
    assert server.get_job_info("app")["description"] == "second"
    # createItem?mode=copy&from=app -> 302 .../configure [core ItemGroupMixIn.createTopLevelItem]
    server.copy_job("app", "app-copy")
    assert server.job_exists("app-copy")
    # confirmRename -> 302 "../new" [core AbstractItem.doConfirmRename]
    server.rename_job("app-copy", "renamed")
    assert server.job_exists("renamed") and not server.job_exists("app-copy")
    # doDelete -> 302 to the parent [core AbstractItem.doDoDelete]
    server.delete_job("renamed")
    assert not server.job_exists("renamed")
    with pytest.raises(jenkins.NotFoundException):
        server.get_job_config("renamed")
    # upsert_job: reconfig when it exists
    server.upsert_job("app", PIPELINE.replace("demo", "third"))
    assert server.get_job_info("app")["description"] == "third"


def test_enable_disable(server):
    server.create_job("app", PIPELINE)
    # POST disable/enable -> 302; WorkflowJob shows color "disabled" and buildable false
    # [workflow-job WorkflowJob via ParameterizedJobMixIn; core Job.getIconColor]
    server.disable_job("app")
    info = server.get_job_info("app")
    assert info["color"] == "disabled" and info["buildable"] is False
    server.enable_job("app")
    assert server.get_job_info("app")["buildable"] is True


def test_build_queue_executable_console_and_info(d, server):
    d.set_behaviour("app", duration_ms=200, log_lines=["step one", "step two"])
    server.create_job("app", PIPELINE)
    # POST build -> 201 Location .../queue/item/N/; python-jenkins returns N
    # [core ParameterizedJobMixIn.doBuild]
    qid = server.build_job("app")
    # queue item -> executable {number, url} once the build started [core Queue.LeftItem]
    ex = until(lambda: server.get_queue_item(qid).get("executable"))
    number = ex["number"]
    until(lambda: not server.get_build_info("app", number)["building"])
    info = server.get_build_info("app", number)
    assert info["result"] == "SUCCESS" and info["queueId"] == qid
    console = server.get_build_console_output("app", number)
    assert "step one\nstep two\n" in console and console.endswith("Finished: SUCCESS\n")
    assert server.get_job_info("app")["lastBuild"]["number"] == number


def test_build_with_parameters_and_cancel(d, server):
    server.create_job("p", PARAMS)
    d.set_executors(0)  # the item stays queued
    # buildWithParameters -> 201; missing parameters take their defaults on this path
    # [core ParametersDefinitionProperty.buildWithParameters]
    qid = server.build_job("p", {"BRANCH": "dev"})
    item = server.get_queue_item(qid)
    params = next(a for a in item["actions"] if a.get("_class") == "hudson.model.ParametersAction")
    assert {p["name"]: p["value"] for p in params["parameters"]} == {"BRANCH": "dev", "DEPLOY": False, "ENV": "dev"}
    assert [q["id"] for q in server.get_queue_info()] == [qid]
    # queue/cancelItem -> 204 [core Queue.doCancelItem]
    server.cancel_queue(qid)
    assert server.get_queue_info() == []
    assert server.get_queue_item(qid)["cancelled"] is True
    # a second cancel: the item left the queue -> HttpResponses.error(500) = Oops page
    with pytest.raises(jenkins.JenkinsException):
        server.cancel_queue(qid)


def test_stop_running_build(d, server):
    d.set_behaviour("long", duration_ms=30000)
    server.create_job("long", PIPELINE)
    qid = server.build_job("long")
    number = until(lambda: server.get_queue_item(qid).get("executable"))["number"]
    # running builds sit on the built-in computer's (one-off) executors [core Computer.getExecutors,
    # getOneOffExecutors]; python-jenkins reads only `executors` (see the README's deviation)
    assert server.get_build_info("long", number)["building"] is True
    # POST .../stop -> WorkflowRun.doStop: "Aborted by <user>", result ABORTED
    server.stop_build("long", number)
    until(lambda: server.get_build_info("long", number)["result"] == "ABORTED")
    assert f"Aborted by {d.user}" in server.get_build_console_output("long", number)


def test_views(server):
    server.create_job("app", PIPELINE)
    # POST createView?name=v with XML -> 200 [core Jenkins.doCreateView -> View.create]
    server.create_view("v", LIST_VIEW)
    assert server.view_exists("v")
    assert [v["name"] for v in server.get_views()] == ["all", "v"]
    # GET view/v/config.xml [core View.doConfigDotXml -> XStream2.toXMLUTF8]
    cfg = server.get_view_config("v")
    assert cfg.startswith('<?xml version="1.1" encoding="UTF-8"?>') and "<string>app</string>" in cfg
    server.reconfig_view("v", LIST_VIEW.replace("mine", "ours"))
    assert "<description>ours</description>" in server.get_view_config("v")
    server.delete_view("v")
    assert not server.view_exists("v")


def test_plugins_nodes_and_users(d, server):
    # pluginManager/api/json?depth=2 [core PluginManager/PluginWrapper @Exported]
    plugins = server.get_plugins()
    assert plugins["workflow-job"]["active"] is True and plugins["workflow-job"]["longName"] == "Pipeline: Job"
    # computer/api/json: the built-in node is "Built-In Node" [core Jenkins.MasterComputer]
    nodes = server.get_nodes()
    assert nodes == [{"name": "Built-In Node", "offline": False}]
    # get_node_info("Built-In Node") -> computer/(built-in)/api/json [python-jenkins maps the name;
    # core Jenkins.getComputer accepts "(built-in)"]
    info = server.get_node_info("Built-In Node")
    assert info["numExecutors"] == 2 and len(info["executors"]) == 2
    assert server.node_exists("Built-In Node")
    # users: /user/<id>/api/json [core Jenkins.getUser]
    r = server.jenkins_open(jenkins.requests.Request("GET", d.url + f"user/{d.user}/api/json"))
    assert '"id":"admin"' in r
