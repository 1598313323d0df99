"""Conformance tests for the Jenkins double: items, config.xml, listings, tree=/depth= (spec §0, §3)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.jenkins_double.xmlconf import identity_transform
from tests.test_double_basics import PIPELINE, tok

FOLDER = "<com.cloudbees.hudson.plugins.folder.Folder plugin=\"cloudbees-folder\"><description>team folder</description><properties/></com.cloudbees.hudson.plugins.folder.Folder>"
PARAMS = """<flow-definition plugin="workflow-job">
  <properties>
    <hudson.model.ParametersDefinitionProperty>
      <parameterDefinitions>
        <hudson.model.StringParameterDefinition>
          <name>BRANCH</name><description>branch</description><defaultValue>main</defaultValue><trim>false</trim>
        </hudson.model.StringParameterDefinition>
        <hudson.model.BooleanParameterDefinition>
          <name>DEPLOY</name><description></description><defaultValue>false</defaultValue>
        </hudson.model.BooleanParameterDefinition>
        <hudson.model.ChoiceParameterDefinition>
          <name>ENV</name>
          <choices class="java.util.Arrays$ArrayList"><a class="string-array"><string>dev</string><string>prod</string></a></choices>
        </hudson.model.ChoiceParameterDefinition>
      </parameterDefinitions>
    </hudson.model.ParametersDefinitionProperty>
    <org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty/>
  </properties>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"><script>stage('x') {}</script><sandbox>true</sandbox></definition>
</flow-definition>"""
MULTIBRANCH = """<org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject plugin="workflow-multibranch">
  <properties/>
  <sources class="jenkins.branch.MultiBranchProject$BranchSourceList" plugin="branch-api"><data/></sources>
  <factory class="org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory"><scriptPath>Jenkinsfile</scriptPath></factory>
</org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject>"""


def post_xml(s, url, xml, ct="text/xml; charset=utf-8"):
    headers = {} if ct is None else {"Content-Type": ct}
    return s.post(url, data=xml.encode("utf-8"), headers=headers)


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


@pytest.fixture
def s(d):
    return tok(d)


# -- createItem ------------------------------------------------------------------------------

def test_create_xml_200_empty_no_location(d, s):
    r = post_xml(s, d.url + "createItem?name=p1", PIPELINE)
    assert r.status_code == 200 and r.content == b"" and "Location" not in r.headers
    j = s.get(d.url + "job/p1/api/json").json()
    assert j["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert j["description"] == "demo" and j["color"] == "notbuilt" and j["builds"] == []
    assert j["nextBuildNumber"] == 1 and j["healthReport"] == [] and j["property"] == []
    assert j["inQueue"] is False and j["queueItem"] is None and j["buildable"] is True
    assert j["fullName"] == "p1" and j["url"] == d.url + "job/p1/"
    assert "disabled" not in j  # workflow-job < 1532


@pytest.mark.parametrize("name,msg", [
    ("", "No name is specified"),
    (".", "\u201c.\u201d is not an allowed name"),
    ("..", "\u201c..\u201d is not an allowed name"),
    ("a?b", "\u2018?\u2019 is an unsafe character"),
    ("a/b", "\u2018/\u2019 is an unsafe character"),
    ("x:y;z", "\u2018:\u2019 is an unsafe character"),
    ("tab\there", "No control code is allowed: tab\\u9;here"),
    ("trailing.", "A name cannot end with \u2018.\u2019"),
])
def test_check_good_name_failures(d, s, name, msg):
    r = post_xml(s, d.url + "createItem", PIPELINE + "", ct="text/xml") if False else \
        s.post(d.url + "createItem", params={"name": name}, data=PIPELINE.encode(), headers={"Content-Type": "text/xml"})
    assert r.status_code == 400
    assert r.headers["X-Error"].encode("latin-1").decode("utf-8") == msg
    assert "Error" in r.text


@pytest.mark.parametrize("name", ["with space", "it's", "a,b=c+(d){e}~", "caf\u00e9"])
def test_allowed_names(d, s, name):
    r = s.post(d.url + "createItem", params={"name": name}, data=PIPELINE.encode(), headers={"Content-Type": "text/xml"})
    assert r.status_code == 200
    assert any(j["name"] == name for j in s.get(d.url + "api/json").json()["jobs"])


def test_create_errors(d, s):
    r = s.post(d.url + "createItem?name=x", data=PIPELINE.encode())  # no Content-Type
    assert r.status_code == 400 and r.headers["X-Error"] == "No Content-Type header set"
    r = post_xml(s, d.url + "createItem", PIPELINE)
    assert r.status_code == 400 and r.headers["X-Error"] == "Query parameter 'name' is required"
    assert post_xml(s, d.url + "createItem?name=foo", PIPELINE).status_code == 200
    r = post_xml(s, d.url + "createItem?name=FOO", PIPELINE)  # case-insensitive uniqueness
    assert r.status_code == 400
    assert r.headers["X-Error"].encode("latin-1").decode() == "A job already exists with the name \u2018FOO\u2019"
    r = post_xml(s, d.url + "createItem?name=bad", "<flow-definition><oops></flow-definition>")
    assert r.status_code == 500 and "Oops!" in r.text and "oops" not in r.text.lower().replace("oops!", "")
    r = post_xml(s, d.url + "createItem?name=bad", "<hudson.model.User/>")
    assert r.status_code == 500
    assert s.get(d.url + "job/bad/api/json").status_code == 404  # nothing left behind
    r = s.get(d.url + "createItem?name=x")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


def test_create_unknown_children_tolerated_and_minimal_bodies(d, s):
    assert post_xml(s, d.url + "createItem?name=a", "<flow-definition><whatever>1</whatever></flow-definition>").status_code == 200
    assert post_xml(s, d.url + "createItem?name=b", "<project/>").status_code == 200
    assert s.get(d.url + "job/b/api/json").json()["_class"] == "hudson.model.FreeStyleProject"


def test_create_by_mode_and_folder_create(d, s):
    r = s.post(d.url + "createItem?name=team", data={"name": "team", "mode": "com.cloudbees.hudson.plugins.folder.Folder"},
               allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/job/team/configure")
    r = s.post(d.url + "createItem?name=x", data={"name": "x"}, allow_redirects=False)
    assert r.status_code == 400 and r.headers["X-Error"] == "No mode given"
    r = s.post(d.url + "createItem?name=x", data={"mode": "no.Such"}, allow_redirects=False)
    assert r.status_code == 400 and "No item type" in r.headers["X-Error"].encode("latin-1").decode()
    assert post_xml(s, d.url + "job/team/createItem?name=app", PIPELINE).status_code == 200
    j = s.get(d.url + "job/team/job/app/api/json").json()
    assert j["fullName"] == "team/app" and j["fullDisplayName"] == "team \u00bb app"
    assert j["url"] == d.url + "job/team/job/app/"
    f = s.get(d.url + "job/team/api/json").json()
    assert f["_class"] == "com.cloudbees.hudson.plugins.folder.Folder"
    assert f["jobs"] == [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "app",
                          "url": d.url + "job/team/job/app/", "color": "notbuilt"}]
    assert "color" not in s.get(d.url + "api/json").json()["jobs"][0]  # folders have no color
    # missing folder -> 404; under a pipeline job -> 404
    assert post_xml(s, d.url + "job/nope/createItem?name=x", PIPELINE).status_code == 404
    assert post_xml(s, d.url + "job/team/job/app/createItem?name=x", PIPELINE).status_code == 404
    cfg = s.get(d.url + "job/team/config.xml").text
    assert cfg.startswith("<?xml version='1.1' encoding='UTF-8'?>")
    assert 'plugin="cloudbees-folder@' in cfg


def test_copy(d, s):
    post_xml(s, d.url + "createItem?name=team", FOLDER)
    post_xml(s, d.url + "job/team/createItem?name=src", PIPELINE)
    r = s.post(d.url + "job/team/createItem", params={"name": "dst", "mode": "copy", "from": "src"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/job/team/job/dst/configure")
    # ItemGroupMixIn.copy copies the source's config.xml file as it is
    assert s.get(d.url + "job/team/job/dst/config.xml").content == identity_transform(PIPELINE.encode())
    # a copied job is not buildable until saved
    assert s.get(d.url + "job/team/job/dst/api/json").json()["buildable"] is False
    assert s.post(d.url + "job/team/job/dst/build").status_code == 409
    s.post(d.url + "job/team/job/dst/description", data={"description": "now saved"})
    assert s.get(d.url + "job/team/job/dst/api/json").json()["buildable"] is True
    # absolute and ../ sources
    r = s.post(d.url + "createItem", params={"name": "top", "mode": "copy", "from": "/team/src"}, allow_redirects=False)
    assert r.status_code == 302
    post_xml(s, d.url + "createItem?name=d2", FOLDER)
    r = s.post(d.url + "job/d2/createItem", params={"name": "c", "mode": "copy", "from": "../team/src"}, allow_redirects=False)
    assert r.status_code == 302
    r = s.post(d.url + "createItem", params={"name": "e", "mode": "copy"}, allow_redirects=False)
    assert r.status_code == 400 and r.headers["X-Error"] == "Specify which job to copy"
    r = s.post(d.url + "createItem", params={"name": "e", "mode": "copy", "from": "ghost"}, allow_redirects=False)
    assert r.status_code == 400 and r.headers["X-Error"] == "No such job: ghost"


# -- lookup, listing ---------------------------------------------------------------------------

def test_case_insensitive_lookup_and_sorted_listing(d, s):
    for n in ["beta", "Alpha", "gamma", "_under"]:
        post_xml(s, d.url + f"createItem?name={n}", PIPELINE)
    assert s.get(d.url + "job/ALPHA/api/json").json()["name"] == "Alpha"
    names = [j["name"] for j in s.get(d.url + "api/json").json()["jobs"]]
    assert names == ["_under", "Alpha", "beta", "gamma"]
    assert s.get(d.url + "job/nope/api/json").status_code == 404
    assert s.get(d.url + "job/Alpha/99/api/json").status_code == 404
    assert s.get(d.url + "job/Alpha/lastBuild/api/json").status_code == 404
    assert s.get(d.url + "view/all/job/alpha/api/json").status_code == 200


def test_root_shape(d, s):
    j = s.get(d.url + "api/json").json()
    for k in ("assignedLabels", "mode", "nodeDescription", "nodeName", "numExecutors", "description",
              "jobs", "overallLoad", "primaryView", "quietDownReason", "quietingDown", "slaveAgentPort",
              "unlabeledLoad", "url", "useCrumbs", "useSecurity", "views"):
        assert k in j
    assert j["url"] == d.url and j["useCrumbs"] is True and j["nodeName"] == ""
    assert j["primaryView"] == {"_class": "hudson.model.AllView", "name": "all", "url": d.url}


def test_tree_and_depth(d, s):
    post_xml(s, d.url + "createItem?name=team", FOLDER)
    post_xml(s, d.url + "job/team/createItem?name=sub", FOLDER)
    post_xml(s, d.url + "job/team/job/sub/createItem?name=deep", PIPELINE)
    for i in range(5):
        post_xml(s, d.url + f"createItem?name=j{i}", PIPELINE)
    # a leaf name gives nested objects with only _class
    j = s.get(d.url + "api/json", params={"tree": "jobs"}).json()
    assert j["jobs"][0] == {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob"}
    assert set(j) == {"_class", "jobs"}
    j = s.get(d.url + "api/json", params={"tree": "jobs[name,jobs[name,jobs[name,url]]]"}).json()
    team = next(x for x in j["jobs"] if x["name"] == "team")
    assert team["jobs"][0]["jobs"][0] == {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                                         "name": "deep", "url": d.url + "job/team/job/sub/job/deep/"}
    # slices
    names = lambda q: [x["name"] for x in s.get(d.url + "api/json", params={"tree": q}).json()["jobs"]]
    assert names("jobs[name]{1,3}") == ["j1", "j2"]
    assert names("jobs[name]{2}") == ["j2"]
    assert names("jobs[name]{,2}") == ["j0", "j1"]
    assert names("jobs[name]{4,}") == ["j4", "team"]
    # wildcard and unknown names
    j = s.get(d.url + "job/j0/api/json", params={"tree": "*"}).json()
    assert j["name"] == "j0" and j["lastBuild"] is None and j["builds"] == []
    assert s.get(d.url + "job/j0/api/json", params={"tree": "name,nonsense"}).json() == {
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "j0"}
    # malformed -> 500
    for bad in ("jobs[name", "jobs]", ",", "jobs{x}", "jobs[name]{1"):
        assert s.get(d.url + "api/json", params={"tree": bad}).status_code == 500
    assert s.get(d.url + "api/json?depth=abc").status_code == 500
    # depth: at 0 nested jobs show name/url/color; at 1 they show everything
    j0 = s.get(d.url + "api/json").json()["jobs"][0]
    assert set(j0) == {"_class", "name", "url", "color"}
    j1 = s.get(d.url + "api/json?depth=1").json()["jobs"][0]
    assert "nextBuildNumber" in j1 and "builds" in j1
    # folder at depth 0: nested children name/url only
    f = s.get(d.url + "job/team/api/json").json()
    assert f["jobs"] == [{"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "sub",
                          "url": d.url + "job/team/job/sub/"}]
    assert s.get(d.url + "api/json?pretty=true").text.startswith("{\n")
    assert s.get(d.url + "api/json?jsonp=cb").status_code == 403


def test_api_xml_and_python(d, s):
    r = s.get(d.url + "api/xml")
    # serveExposedBean(Flavor.XML) writes no declaration and _class='...' [stapler XMLDataWriter]
    assert r.status_code == 200 and r.text.startswith("<hudson _class='hudson.model.Hudson'>")
    r = s.get(d.url + "crumbIssuer/api/xml", params={"xpath": 'concat(//crumbRequestField,":",//crumb)'})
    assert r.status_code == 200 and r.text.startswith("Jenkins-Crumb:") and len(r.text) == len("Jenkins-Crumb:") + 64
    assert s.get(d.url + "api/xml", params={"xpath": "/hudson/nothing"}).status_code == 404
    r = s.get(d.url + "api/python")
    # PythonDataWriter extends JSONDataWriter: double quotes, True/False/None [stapler]
    assert r.status_code == 200 and r.text.startswith('{"_class":"hudson.model.Hudson"')
    assert '"useCrumbs":True' in r.text


# -- config.xml ------------------------------------------------------------------------------

def test_config_xml_roundtrip_and_resave(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    r = s.get(d.url + "job/p/config.xml")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/xml"
    # stored as XMLUtils.safeTransform wrote it [core ItemGroupMixIn.createProjectFromXML]
    assert r.content == identity_transform(PIPELINE.encode())
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?><flow-definition plugin="workflow-job">')
    assert "X-Jenkins" not in r.headers
    new = PIPELINE.replace("demo", "updated").replace("<extra/>", "")
    new = new.replace("<triggers/>", "<triggers/><unknownElement>x</unknownElement>")
    r = post_xml(s, d.url + "job/p/config.xml", new)
    assert r.status_code == 200 and r.content == b""
    # AbstractItem.updateByXml commits the safeTransform output [core 2.492.3]
    assert s.get(d.url + "job/p/config.xml").content == identity_transform(new.encode())
    assert s.get(d.url + "job/p/api/json").json()["description"] == "updated"
    # disable -> save() -> Jenkins-style re-serialization
    r = s.post(d.url + "job/p/disable", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/job/p/")
    cfg = s.get(d.url + "job/p/config.xml").text
    assert cfg.startswith("<?xml version='1.1' encoding='UTF-8'?>\n<flow-definition plugin=\"workflow-job@")
    assert 'class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps@' in cfg
    assert "<disabled>true</disabled>" in cfg and "unknownElement" not in cfg
    assert "stage(&apos;build&apos;)" in cfg  # XStream escapes quotes in text
    root = ET.fromstring(cfg.encode())
    assert root.find("description").text == "updated"
    j = s.get(d.url + "job/p/api/json").json()
    assert j["color"] == "disabled" and j["buildable"] is False and "disabled" not in j
    assert s.post(d.url + "job/p/build").status_code == 409
    s.post(d.url + "job/p/enable")
    assert s.get(d.url + "job/p/api/json").json()["color"] == "notbuilt"


def test_config_xml_errors(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    assert post_xml(s, d.url + "job/p/config.xml", "<flow-definition>").status_code == 500
    assert s.get(d.url + "job/p/config.xml").content == identity_transform(PIPELINE.encode())  # old config stays
    assert post_xml(s, d.url + "job/p/config.xml", "<project/>").status_code == 500  # type change
    assert s.put(d.url + "job/p/config.xml", data=b"<x/>").status_code == 400
    assert s.get(d.url + "job/ghost/config.xml").status_code == 404


def test_parameters_in_job_json(d, s):
    post_xml(s, d.url + "createItem?name=p", PARAMS)
    j = s.get(d.url + "job/p/api/json").json()
    assert j["concurrentBuild"] is False
    prop = j["property"]
    pdp = next(p for p in prop if p["_class"] == "hudson.model.ParametersDefinitionProperty")
    defs = pdp["parameterDefinitions"]
    assert defs[0] == {"_class": "hudson.model.StringParameterDefinition",
                       "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "name": "BRANCH", "value": "main"},
                       "description": "branch", "name": "BRANCH", "type": "StringParameterDefinition"}
    assert defs[1]["defaultParameterValue"] == {"_class": "hudson.model.BooleanParameterValue", "name": "DEPLOY", "value": False}
    assert defs[1]["description"] == ""
    assert defs[2]["choices"] == ["dev", "prod"] and defs[2]["defaultParameterValue"]["value"] == "dev"
    assert defs[2]["description"] is None


def test_description_endpoints(d, s):
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    r = s.get(d.url + "job/p/description")
    assert r.text == "demo" and r.headers["Content-Type"].startswith("text/plain")
    assert s.post(d.url + "job/p/description", data={"description": "new"}).status_code == 204
    assert s.get(d.url + "job/p/description").text == "new"
    assert s.post(d.url + "job/p/description").status_code == 400
    r = s.post(d.url + "job/p/submitDescription", data={"description": "again"}, allow_redirects=False)
    assert r.status_code == 302
    assert "<description>again</description>" in s.get(d.url + "job/p/config.xml").text


def test_delete(d, s):
    post_xml(s, d.url + "createItem?name=team", FOLDER)
    post_xml(s, d.url + "job/team/createItem?name=a", PIPELINE)
    post_xml(s, d.url + "createItem?name=top", PIPELINE)
    r = s.post(d.url + "job/team/job/a/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == d.url + "job/team/"
    assert s.get(d.url + "job/team/job/a/api/json").status_code == 404
    r = s.post(d.url + "job/top/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == d.url
    post_xml(s, d.url + "createItem?name=top2", PIPELINE)
    assert s.get(d.url + "job/top2/doDelete").status_code == 405
    post_xml(s, d.url + "job/team/createItem?name=b", PIPELINE)
    r = s.delete(d.url + "job/team/")
    assert r.status_code == 204
    assert s.get(d.url + "job/team/job/b/api/json").status_code == 404
    assert s.delete(d.url + "job/team/").status_code == 404


def test_rename(d, s):
    post_xml(s, d.url + "createItem?name=old", PIPELINE)
    post_xml(s, d.url + "createItem?name=taken", PIPELINE)
    r = s.post(d.url + "job/old/doRename", params={"newName": "taken"}, allow_redirects=False)
    assert r.status_code == 400
    r = s.post(d.url + "job/old/confirmRename", params={"newName": "new"}, allow_redirects=False)
    # HttpResponses.redirectTo("../" + newName): no trailing slash [core AbstractItem.doConfirmRename]
    assert r.status_code == 302 and r.headers["Location"] == d.url + "job/new"
    assert s.get(d.url + "job/new/api/json").json()["name"] == "new"
    assert s.get(d.url + "job/old/api/json").status_code == 404


def test_multibranch_accepted_listed_and_build_scan(d, s):
    assert post_xml(s, d.url + "createItem?name=mb", MULTIBRANCH).status_code == 200
    j = s.get(d.url + "api/json").json()["jobs"][0]
    assert j == {"_class": "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
                 "name": "mb", "url": d.url + "job/mb/"}
    assert s.get(d.url + "job/mb/api/json").json()["jobs"] == []  # creating does not index
    r = s.post(d.url + "job/mb/build?delay=0", allow_redirects=False)
    assert r.status_code == 302
    assert [j["name"] for j in s.get(d.url + "job/mb/api/json").json()["jobs"]] == ["main"]
    assert s.post(d.url + "__double__/branches", json={"job": "mb", "branches": ["main", "feature/x"]}).status_code == 200
    s.post(d.url + "job/mb/build")
    jobs = s.get(d.url + "job/mb/api/json").json()["jobs"]
    assert [j["name"] for j in jobs] == ["feature%2Fx", "main"]
    assert jobs[0]["url"] == d.url + "job/mb/job/feature%252Fx/"
    r = s.post(d.url + "job/mb/job/feature%252Fx/build")
    assert r.status_code == 201
    d.set_branches("mb", ["main"])
    s.post(d.url + "job/mb/build")
    assert [j["name"] for j in s.get(d.url + "job/mb/api/json").json()["jobs"]] == ["main"]
    assert post_xml(s, d.url + "job/mb/createItem?name=x", PIPELINE).status_code == 404


def test_check_job_name(d, s):
    post_xml(s, d.url + "createItem?name=exists", PIPELINE)
    assert s.get(d.url + "checkJobName?value=fine").text == "<div/>"
    assert s.get(d.url + "checkJobName?value=").text == "<div/>"
    r = s.get(d.url + "checkJobName", params={"value": "a?b"})
    assert r.status_code == 200 and r.text.startswith('<div class="error">')
    assert "already exists" in s.get(d.url + "checkJobName?value=EXISTS").text


def test_python_jenkins_items(d):
    import jenkins
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    server.create_folder("team")
    server.create_job("team/app", PIPELINE)
    assert server.job_exists("team/app")
    assert server.get_job_config("team/app") == identity_transform(PIPELINE.encode()).decode()
    server.reconfig_job("team/app", PIPELINE.replace("demo", "v2"))
    assert server.get_job_info("team/app")["description"] == "v2"
    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        server.create_job("team/app", PIPELINE)
    server.copy_job("team/app", "team/app2")
    jobs = {j["fullname"] for j in server.get_all_jobs()}
    assert jobs == {"team", "team/app", "team/app2"}
    server.disable_job("team/app")
    assert server.get_job_info("team/app")["color"] == "disabled"
    server.enable_job("team/app")
    server.rename_job("team/app2", "team/app3")
    assert server.job_exists("team/app3") and not server.job_exists("team/app2")
    server.delete_job("team/app3")
    assert not server.job_exists("team/app3")
    server.copy_job("team/app", "team/app2")
    server.delete_job("team/app2")
    assert not server.job_exists("team/app2")
    # quirk: job_exists is case-sensitive while Jenkins is not -> JenkinsException (spec §8.2)
    with pytest.raises(jenkins.JenkinsException):
        server.job_exists("team/APP")
    # missing folder
    with pytest.raises(jenkins.JenkinsException, match="folder for the job does not exist"):
        server.create_job("nofolder/x", PIPELINE)


def test_get_all_jobs_deeper_than_one_request(d):
    import jenkins
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    path = ""
    for i in range(4):
        server.create_folder((path + "/" if path else "") + f"f{i}")
        path = (path + "/" if path else "") + f"f{i}"
    server.create_job(path + "/leaf", PIPELINE)
    jobs = {j["fullname"] for j in server.get_all_jobs(folder_depth_per_request=1)}
    assert "f0/f1/f2/f3/leaf" in jobs


def test_thousand_jobs_in_fifty_folders_is_fast(d, s):
    import time

    from tests.jenkins_double import xmlconf
    t0 = time.time()
    for j in range(20):  # a sample over HTTP ...
        post_xml(s, d.url + f"createItem?name=http{j}", PIPELINE)
    assert time.time() - t0 < 5
    eng = d.engine  # ... the bulk directly in the model
    with eng.lock:
        for f in range(50):
            folder = eng.create_item(None, f"folder{f}", FOLDER.encode(), xmlconf.parse_config(FOLDER), saved=False)
            for j in range(20):
                eng.create_item(folder, f"job{j}", PIPELINE.encode(), xmlconf.parse_config(PIPELINE), saved=False)
    t0 = time.time()
    j = s.get(d.url + "api/json", params={"tree": "jobs[name,jobs[name,url,color]]"}).json()
    assert sum(len(f.get("jobs", [])) for f in j["jobs"]) == 1000
    assert time.time() - t0 < 1.0
    t0 = time.time()
    assert len(s.get(d.url + "job/folder7/api/json").json()["jobs"]) == 20
    assert time.time() - t0 < 0.2


def test_jetty_header_sanitizing_option(jenkins_double_factory):
    d = jenkins_double_factory(jetty_headers=True)
    s = tok(d)
    post_xml(s, d.url + "createItem?name=x", PIPELINE)
    r = post_xml(s, d.url + "createItem?name=x", PIPELINE)
    assert r.status_code == 400
    assert r.headers["X-Error"] == "A job already exists with the name  x "
    assert "A job already exists with the name \u2018x\u2019" in r.text  # the page keeps the real text


def test_all_view(d, s):
    import jenkins
    post_xml(s, d.url + "createItem?name=p", PIPELINE)
    j = s.get(d.url + "view/all/api/json").json()
    assert j["_class"] == "hudson.model.AllView" and j["name"] == "all"
    assert [x["name"] for x in j["jobs"]] == ["p"]
    assert s.get(d.url + "view/other/api/json").status_code == 404
    server = jenkins.Jenkins(d.url, username=d.user, password=d.token)
    assert [x["name"] for x in server.get_jobs(view_name="all")] == ["p"]


def test_head_requests(d, s):
    r = s.head(d.url + "api/json")
    assert r.status_code == 200 and r.content == b"" and int(r.headers["Content-Length"]) > 0
    assert s.head(d.url + "job/nope/api/json").status_code == 404
