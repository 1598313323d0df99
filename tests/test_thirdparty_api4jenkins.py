"""api4jenkins (PyPI; httpx, sync and async) against the double.  api4jenkins reads the ``Location``
of redirects itself (rename, move, build), picks classes from ``_class``, and fetches nodes with
``tree=computer[executors[currentExecutable[url]],oneOffExecutors[...]]``.  Each assertion says what
Jenkins does and where in its source."""
from __future__ import annotations

import asyncio

import pytest
from api4jenkins import AsyncJenkins, Jenkins

from tests.helpers import until
from tests.test_double_basics import PIPELINE
from tests.test_double_items import FOLDER, PARAMS


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


@pytest.fixture
def j(d) -> Jenkins:
    return Jenkins(d.url, auth=(d.user, d.token), timeout=10)




def build_of(item):
    """QueueItem.get_build, tolerating the LeftItem whose ``executable`` is still null: Jenkins
    shows that for a moment between leaving the queue and the executable starting
    (Queue.LeftItem.getExecutable, spec §4.3), and api4jenkins 2.1 then fails with a TypeError."""
    def get():
        try:
            return item.get_build()
        except TypeError:
            return None
    return get


def test_connect_version_me_and_crumb(d, j):
    # HEAD / carries X-Jenkins [core hudson/Functions.java advertiseHeaders]
    assert j.version == d.version
    # crumbIssuer/api/json -> {crumbRequestField: crumb} [core DefaultCrumbIssuer]
    assert list(j.crumb) == ["Jenkins-Crumb"]
    # Jenkins.me -> user/<id>/: the User bean [core Jenkins.getUser, hudson/model/User.java]
    me = j.me
    assert me.exists() and me.api_json()["id"] == d.user
    assert me.api_json()["_class"] == "hudson.model.User"


def test_folders_jobs_tree_and_depth(j):
    # create_job(recursive=True) creates the folders first; POST .../createItem with XML -> 200
    # [core ItemGroupMixIn.createTopLevelItem; folder AbstractFolder.doCreateItem]
    j.create_job("team/sub/app", PIPELINE, recursive=True)
    j.create_job("top", PIPELINE)
    # iter(depth) asks tree=jobs[url,jobs[url,...]]: stapler NamedPathPruner; the classes come from
    # `_class` [stapler export/NamedPathPruner.java; ExportConfig class attribute]
    items = {str(x.full_name): type(x).__name__ for x in j.iter(depth=2)}
    assert items == {"team": "Folder", "team/sub": "Folder", "team/sub/app": "WorkflowJob", "top": "WorkflowJob"}
    job = j.get_job("team/sub/app")
    assert job.full_name == "team/sub/app" and job.exists()
    assert j.get_job("team/nope") is None


def test_create_configure_copy_rename_move_delete(d, j):
    j.create_job("f", FOLDER)
    j.create_job("app", PIPELINE)
    job = j.get_job("app")
    # GET/POST config.xml; stored through XMLUtils.safeTransform [core AbstractItem.doConfigDotXml]
    assert job.configure().startswith('<?xml version="1.0" encoding="UTF-8"?><flow-definition')
    job.configure(PIPELINE.replace("demo", "v2"))
    assert job.description == "v2"
    # createItem?mode=copy -> 302 [core ItemGroupMixIn.createTopLevelItem]
    j.copy_job("app", "app2")
    assert j.get_job("app2").exists()
    # confirmRename -> Location "../app3" without '/', api4jenkins appends it
    # [core AbstractItem.doConfirmRename]
    j.rename_job("app2", "app3")
    assert j.get_job("app3").exists() and j.get_job("app2") is None
    # move/move?destination=/f -> Location of the new URL [cloudbees-folder DefaultRelocationUI.doMove]
    j.move_job("app3", "f")
    moved = j.get_job("f/app3")
    assert moved is not None and moved.url == d.url + "job/f/job/app3/"
    assert j.get_job("app3") is None
    # delete: POST doDelete [core AbstractItem.doDoDelete]
    j.delete_job("f/app3")
    assert j.get_job("f/app3") is None


def test_enable_disable(j):
    j.create_job("app", PIPELINE)
    job = j.get_job("app")
    job.disable()
    assert job.buildable is False and job.color == "disabled"
    job.enable()
    assert job.buildable is True


def test_build_queue_console_progressive_and_stop(d, j):
    d.set_behaviour("app", duration_ms=300, log_lines=["alpha", "beta"])
    j.create_job("app", PIPELINE)
    # POST build -> 201 Location queue/item/N/ [core ParameterizedJobMixIn.doBuild]
    item = j.build_job("app")
    build = until(build_of(item))
    until(lambda: not build.building)
    assert build.result == "SUCCESS" and build.number == 1
    # consoleText: the log without console notes [core Run.doConsoleText]
    text = list(build.console_text())
    assert text[-3:] == ["alpha", "beta", "Finished: SUCCESS"]
    # logText/progressiveText with start= and X-More-Data/X-Text-Size [core AnnotatedLargeText]
    lines = list(build.progressive_output())
    assert any("beta" in x for x in lines) and "Finished: SUCCESS" in lines[-1]
    # stop a running build: POST .../stop [workflow-job WorkflowRun.doStop]
    d.set_behaviour("app", duration_ms=30000)
    item = j.build_job("app")
    build = until(build_of(item))
    build.stop()
    until(lambda: build.result == "ABORTED")


def test_parameters_and_cancel(d, j):
    j.create_job("p", PARAMS)
    job = j.get_job("p")
    assert [p["name"] for p in job.get_parameters()] == ["BRANCH", "DEPLOY", "ENV"]
    d.set_executors(0)
    # buildWithParameters -> 201 [core ParametersDefinitionProperty.buildWithParameters]
    item = job.build(BRANCH="x", ENV="prod")
    # the unsubmitted DEPLOY takes its default on this path (ParametersDefinitionProperty
    # .buildWithParameters fills defaults; /build with a json form does not)
    assert {(p.name, p.value) for p in item.get_parameters()} == {("BRANCH", "x"), ("DEPLOY", False), ("ENV", "prod")}
    assert [q.id for q in j.queue] == [item.id]
    # queue/cancelItem -> 204 [core Queue.doCancelItem]
    item.cancel()
    assert list(j.queue) == []


def test_views(j):
    j.create_job("app", PIPELINE)
    # POST createView?name=v with XML -> 200 [core Jenkins.doCreateView -> View.create]
    j.views.create("v", "<hudson.model.ListView><name>v</name><jobNames/></hudson.model.ListView>")
    v = j.views.get("v")
    assert v is not None and type(v).__name__ == "ListView"
    # ListView.doAddJobToView / doRemoveJobFromView (POST, ?name=) -> 200
    v.include("app")
    assert [x.full_name for x in v] == ["app"]
    v.exclude("app")
    assert list(v) == []
    assert sorted(x.name for x in j.views) == ["all", "v"]
    v.delete()
    assert j.views.get("v") is None


def test_nodes_executors_and_plugins(d, j):
    d.set_behaviour("app", duration_ms=30000)
    j.create_job("app", PIPELINE)
    item = j.build_job("app")
    build = until(build_of(item))
    # computer/api/json?tree=computer[executors[currentExecutable[url]],oneOffExecutors[...]]:
    # a running Pipeline is on a one-off executor [core Computer.getOneOffExecutors]
    building = list(j.nodes.iter_building_builds())
    assert [b.url for b in building] == [build.url]
    node = j.nodes.get("Built-In Node")
    assert node is not None and type(node).__name__ == "MasterComputer"
    assert node.url == d.url + "computer/(built-in)/"
    build.stop()
    assert j.plugins.get("workflow-job") is not None


def test_async_client(d):
    async def go():
        aj = AsyncJenkins(d.url, auth=(d.user, d.token), timeout=10)
        await aj.create_job("team/app", PIPELINE, recursive=True)
        job = await aj.get_job("team/app")
        assert await job.exists()
        item = await aj.build_job("team/app")
        build = None
        for _ in range(200):
            try:
                build = await item.get_build()
            except TypeError:  # LeftItem with executable null for a moment (see build_of)
                build = None
            if build:
                break
            await asyncio.sleep(0.05)
        assert build is not None
        for _ in range(200):
            if not await build.building:
                break
            await asyncio.sleep(0.05)
        assert await build.result == "SUCCESS"
        await aj.delete_job("team/app")
        assert await aj.get_job("team/app") is None

    asyncio.run(go())
