"""aiojenkins (PyPI; aiohttp) against the double.  aiojenkins builds paths as ``/{folder}/job/x``, so a
top-level job is ``//job/x`` (an empty first segment), follows redirects (aiohttp's default), and
retries a 403 once with a fresh crumb.  Each assertion says what Jenkins does and where."""
from __future__ import annotations

import asyncio

import pytest
from aiojenkins import Jenkins
from aiojenkins.exceptions import JenkinsNotFoundError

from tests.test_double_basics import PIPELINE
from tests.test_double_items import FOLDER, PARAMS

# aiojenkins 0.8 passes auth= to aiohttp, which warns that it is deprecated (not ours to fix)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

VIEW = "<hudson.model.ListView><name>v</name><description>d1</description><jobNames/></hudson.model.ListView>"


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


def run(d, body, password=False):
    # With a password, the crumb is bound to the web session (DefaultCrumbIssuer hashes the
    # session id in), so the session cookie must come back; aiohttp's cookie jar refuses cookies
    # from IP-address hosts, hence "localhost" there (against a real Jenkins too).
    url = d.url.rstrip("/").replace("127.0.0.1", "localhost") if password else d.url.rstrip("/")

    async def go():
        async with Jenkins(url, d.user, d.password if password else d.token, timeout=10) as j:
            await body(j)
    asyncio.run(go())


async def until(fn, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        v = await fn()
        if v:
            return v
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def test_version_status_and_crumb(d):
    async def body(j):
        # X-Jenkins of GET / [core hudson/Functions.java advertiseHeaders]
        v = await j.get_version()
        assert ".".join(map(str, v))[: len(d.version)] == d.version
        # /api/json is the Hudson bean; `mode` is what is_ready() looks for [core Jenkins @Exported]
        assert await j.is_ready() is True
        status = await j.get_status()
        assert status["_class"] == "hudson.model.Hudson" and status["useCrumbs"] is True
        # with a password, POSTs need the crumb of crumbIssuer/api/json [core DefaultCrumbIssuer]
        await j.jobs.create("crumbed", PIPELINE)
        assert await j.jobs.is_exists("crumbed")
    run(d, body, password=True)


def test_jobs_in_folders_create_config_copy_rename_enable_delete(d):
    async def body(j):
        await j.jobs.create("team", FOLDER)
        await j.jobs.create("team/app", PIPELINE)
        # get_all walks `jobs` of each folder's api/json [folder AbstractFolder "jobs"]
        assert sorted(await j.jobs.get_all()) == ["team", "team/app"]
        info = await j.jobs.get_info("team/app")
        assert info["fullName"] == "team/app"
        # config.xml as XMLUtils.safeTransform stored it [core ItemGroupMixIn.createProjectFromXML]
        cfg = await j.jobs.get_config("team/app")
        assert cfg.startswith('<?xml version="1.0" encoding="UTF-8"?><flow-definition')
        await j.jobs.reconfigure("team/app", PIPELINE.replace("demo", "v2"))
        assert (await j.jobs.get_info("team/app"))["description"] == "v2"
        # createItem?mode=copy&from=app -> 302, followed to .../configure [core ItemGroupMixIn]
        await j.jobs.copy("team/app", "app2")
        assert await j.jobs.is_exists("team/app2")
        # doRename (an alias of confirmRename) -> 302 "../app3" -> 302 "../app3/"
        # [core AbstractItem.doConfirmRename; stapler DirectoryishDispatcher]
        await j.jobs.rename("team/app2", "app3")
        assert await j.jobs.is_exists("team/app3") and not await j.jobs.is_exists("team/app2")
        await j.jobs.disable("team/app3")
        assert (await j.jobs.get_info("team/app3"))["color"] == "disabled"
        await j.jobs.enable("team/app3")
        assert (await j.jobs.get_info("team/app3"))["buildable"] is True
        # doDelete -> 302 to the folder [core AbstractItem.doDoDelete]
        await j.jobs.delete("team/app3")
        assert not await j.jobs.is_exists("team/app3")
        with pytest.raises(JenkinsNotFoundError):
            await j.jobs.get_config("team/app3")
    run(d, body)


def test_builds_queue_console_stop(d):
    d.set_behaviour("app", duration_ms=200, log_lines=["one"])

    async def body(j):
        await j.jobs.create("app", PIPELINE)
        # POST //job/app/build?delay=0sec -> 201 Location queue/item/N/ [core ParameterizedJobMixIn]
        qid = await j.builds.start("app")
        item = await until(lambda: _executable(j, qid))
        number = item["number"]
        await until(lambda: _done(j, "app", number))
        info = await j.builds.get_info("app", number)
        assert info["result"] == "SUCCESS" and info["queueId"] == qid
        out = await j.builds.get_output("app", number)
        assert "one\n" in out and out.endswith("Finished: SUCCESS\n")
        assert [b["number"] for b in await j.builds.get_all("app")] == [number]
        d.set_behaviour("app", duration_ms=30000)
        qid = await j.builds.start("app")
        number = (await until(lambda: _executable(j, qid)))["number"]
        # POST .../stop [workflow-job WorkflowRun.doStop]
        await j.builds.stop("app", number)
        await until(lambda: _done(j, "app", number))
        assert (await j.builds.get_info("app", number))["result"] == "ABORTED"
    run(d, body)


async def _executable(j, qid):
    return (await j.builds.get_queue_id_info(qid)).get("executable")


async def _done(j, job, number):
    return not (await j.builds.get_info(job, number))["building"]


def test_parameters_queue_and_cancel(d):
    d.set_executors(0)

    async def body(j):
        await j.jobs.create("p", PARAMS)
        # buildWithParameters (aiojenkins also sends a `json` form, which this path ignores):
        # unsent parameters take their defaults [core ParametersDefinitionProperty.buildWithParameters]
        qid = await j.builds.start("p", {"BRANCH": "x"})
        item = await j.queue.get_info(qid)
        params = next(a for a in item["actions"] if a.get("_class") == "hudson.model.ParametersAction")
        assert {p["name"]: p["value"] for p in params["parameters"]} == {"BRANCH": "x", "DEPLOY": False, "ENV": "dev"}
        assert list(await j.queue.get_all()) == [qid]
        # queue/cancelItem -> 204 [core Queue.doCancelItem]
        await j.queue.cancel(qid)
        assert await j.queue.get_all() == {}
    run(d, body)


def test_views_nodes_plugins(d):
    async def body(j):
        # createView with an XML body -> 200; view/v/config.xml GET/POST; doDelete -> 302
        # [core Jenkins.doCreateView, View.doConfigDotXml, View.doDoDelete]
        await j.views.create("v", VIEW)
        assert await j.views.is_exists("v")
        assert "<description>d1</description>" in await j.views.get_config("v")
        await j.views.reconfigure("v", VIEW.replace("d1", "d2"))
        assert "<description>d2</description>" in await j.views.get_config("v")
        await j.views.delete("v")
        assert not await j.views.is_exists("v")
        # computer/api/json, computer/(built-in)/api/json [core ComputerSet, Jenkins.getComputer]
        nodes = await j.nodes.get_all()
        assert list(nodes) == ["Built-In Node"]
        info = await j.nodes.get_info("(built-in)")
        assert info["_class"] == "hudson.model.Hudson$MasterComputer" and info["offline"] is False
        plugins = await j.plugins.get_all()
        assert plugins["workflow-job"]["active"] is True
    run(d, body)
