"""jenkinsapi (PyPI, nobody here wrote it) drives the Jenkins double as it would a controller.

jenkinsapi reads every object through ``api/python`` and parses it with ``json.loads`` (falling
back to replacing True/False/None), follows ``url`` fields it gets back, walks executors by index
and posts forms to ``createView``.  Each assertion names what Jenkins (core 2.492.x, stapler,
cloudbees-folder) does and where in its source.
"""
from __future__ import annotations

import pytest
from jenkinsapi.custom_exceptions import UnknownJob
from jenkinsapi.jenkins import Jenkins
from jenkinsapi.utils.crumb_requester import CrumbRequester

from tests.helpers import until as wait
from tests.test_double_basics import PIPELINE
from tests.test_double_items import FOLDER, PARAMS


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


def connect(d, password: bool = False) -> Jenkins:
    secret = d.password if password else d.token
    # the crumb requester fetches /crumbIssuer/api/json once per session (as for a browser)
    req = CrumbRequester(d.user, secret, baseurl=d.url.rstrip("/"))
    return Jenkins(d.url.rstrip("/"), d.user, secret, requester=req, timeout=10)




def test_connect_version_and_python_api(d):
    # Jenkins(url) polls /api/python?tree=jobs[name,color,url] at once.  PythonDataWriter extends
    # JSONDataWriter, so strings are double-quoted and null/true/false are None/True/False
    # [stapler export/PythonDataWriter.java valueNull/valuePrimitive; Flavor.PYTHON content type
    # text/x-python;charset=UTF-8].  A repr() with single quotes fails here with
    # JenkinsAPIException("Cannot parse ...").
    j = connect(d, password=True)
    # version is the X-Jenkins header of GET / (set for every page by the layout through
    # core hudson/Functions.java advertiseHeaders, and by hudson/model/Api.java setHeaders)
    assert j.version == d.version
    assert j.get_jobs_list() == []
    assert j.is_quieting_down is False


def test_jobs_create_config_update_delete(d):
    j = connect(d)
    # createItem with an XML body -> 200 (ItemGroupMixIn.createTopLevelItem, isXmlSubmission)
    job = j.create_job("app", PIPELINE)
    assert job.name == "app" and j.has_job("app") and "app" in j.keys()
    # config.xml is the posted document after XMLUtils.safeTransform (an identity transform):
    # same elements, declaration rewritten [core ItemGroupMixIn.createProjectFromXML]
    cfg = job.get_config()
    assert "<description>demo</description>" in cfg
    job.update_config(cfg.replace("<description>demo</description>", "<description>v2</description>"))
    assert j["app"].get_description() == "v2"
    # disable/enable: POST job/x/disable|enable -> 302 back to the job; jenkinsapi reads `color`
    # ("disabled") [core jenkins/model/ParameterizedJobMixIn.java ParameterizedJob.doDisable/
    # doEnable, makeDisabled; core Job.getIconColor]
    job.disable()
    assert j["app"].is_enabled() is False
    job.enable()
    assert j["app"].is_enabled() is True
    j.delete_job("app")
    assert not j.has_job("app")
    with pytest.raises(UnknownJob):
        j.get_job("app")


def test_copy_and_rename(d):
    j = connect(d)
    j.create_job("src", PIPELINE)
    copied = j.copy_job("src", "dst")  # createItem?mode=copy&from=src -> 302 .../configure
    assert copied.name == "dst" and j.has_job("dst")
    renamed = j.rename_job("dst", "renamed")  # doConfirmRename -> 302 to the new URL
    assert renamed.name == "renamed" and j.has_job("renamed") and not j.has_job("dst")


def test_folders_nested_jobs(d):
    j = connect(d)
    j.create_job("team", FOLDER)
    # "team/inner" -> POST job/team/createItem?name=inner [folder AbstractFolder.doCreateItem ->
    # ItemGroupMixIn.createTopLevelItem]
    inner = j.create_job("team/inner", PIPELINE)
    assert inner.get_full_name() == "team/inner"
    # jenkinsapi replaces a folder (a `jobs[]` entry without `color`) by its children, read from
    # job/team/api/python?tree=jobs[name,color] [folder AbstractFolder getItems exported as
    # "jobs"; only Jobs export `color`]
    assert j.keys() == ["team/inner"]
    assert "<description>demo</description>" in j["team/inner"].get_config()
    j.delete_job("team/inner")
    assert connect(d).keys() == []  # a fresh client: jenkinsapi caches its listing


def test_build_queue_console_and_stop(d):
    j = connect(d)
    d.set_behaviour("app", duration_ms=300, log_lines=["hello"])
    job = j.create_job("app", PIPELINE)
    qi = job.invoke()  # POST /build -> 201 + Location queue/item/N/ [ParameterizedJobMixIn.doBuild]
    build = qi.block_until_building(delay=0.05)
    assert build.get_number() == 1
    build.block_until_complete(delay=0.05)
    build.poll()
    assert build.get_status() == "SUCCESS" and build.is_good()
    console = build.get_console()
    assert "hello" in console and console.rstrip().endswith("Finished: SUCCESS")
    # stop a long one: POST .../stop [WorkflowRun.doStop]
    d.set_behaviour("app", duration_ms=20000)
    qi = job.invoke()
    build = qi.block_until_building(delay=0.05)
    assert build.stop() is True
    wait(lambda: not job.get_build(build.get_number()).is_running())
    assert job.get_build(build.get_number()).get_status() == "ABORTED"


def test_build_with_parameters(d):
    j = connect(d)
    job = j.create_job("p", PARAMS)
    assert sorted(job.get_params_list()) == ["BRANCH", "DEPLOY", "ENV"]
    qi = job.invoke(build_params={"BRANCH": "dev", "ENV": "prod"})
    build = qi.block_until_building(delay=0.05)
    build.block_until_complete(delay=0.05)
    assert build.get_params() == {"BRANCH": "dev", "DEPLOY": False, "ENV": "prod"}


def test_views(d):
    j = connect(d)
    j.create_job("app", PIPELINE)
    # POST /createView form (name, mode, json) -> 302 [core Jenkins.doCreateView, View.create]
    v = j.views.create("mine")
    assert v is not None and "mine" in j.views.keys()
    v.add_job("app")
    assert "app" in v.keys()
    del j.views["mine"]
    assert "mine" not in j.views.keys()


def test_nodes_executors_plugins(d):
    j = connect(d)
    nodes = j.get_nodes()
    assert "Built-In Node" in nodes.keys()
    # computer/(built-in)/executors/N/api/python: Computer.getExecutors() is a List, Stapler
    # dispatches an index on it and Executor.getApi() serves the bean [core Computer.java
    # getExecutors; Executor.java getApi]
    executors = list(j.get_executors("(built-in)"))
    assert len(executors) == 2 and all(e.is_idle() for e in executors)
    assert j.has_plugin("workflow-job")
    assert j.get_plugins()["workflow-job"].version
