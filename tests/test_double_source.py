"""Wire-level facts of Jenkins that third-party clients depend on, each checked on the double and
each citing the Jenkins/Stapler source it comes from (issue 11).  The clients' own suites are
tests/test_thirdparty_*.py; these pin the exact bytes and statuses behind them."""
from __future__ import annotations

import json

import pytest
import requests

from tests.test_double_basics import PIPELINE, tok


@pytest.fixture
def d(jenkins_double):
    return jenkins_double


@pytest.fixture
def s(d):
    return tok(d)


def create(s, d, name, xml=PIPELINE, parent=""):
    r = s.post(d.url + parent + "createItem", params={"name": name}, data=xml.encode(),
               headers={"Content-Type": "application/xml"})
    assert r.status_code == 200, r.text


# -- Stapler DataWriters ---------------------------------------------------------------------

def test_python_flavour_is_json_with_python_literals(d, s):
    # PythonDataWriter extends JSONDataWriter, overriding only valueNull -> None and booleans ->
    # True/False; Flavor.PYTHON is text/x-python;charset=UTF-8 [stapler export/
    # PythonDataWriter.java, export/Flavor.java]
    r = s.get(d.url + "api/python", params={"tree": "useCrumbs,description,mode"})
    assert r.headers["Content-Type"] == "text/x-python;charset=UTF-8"
    assert r.text == '{"_class":"hudson.model.Hudson","mode":"NORMAL","description":None,"useCrumbs":True}'


def test_pretty_json_layout_and_string_escapes(d, s):
    create(s, d, "p")
    s.post(d.url + "job/p/description", data={"description": "a\nb \u00e9 \U0001F600"})
    # JSONDataWriter.name writes '"name" : ' when pretty, two spaces per level, newline before
    # each member; value() escapes ISO control chars (\n too: isISOControl is tested before the
    # switch) and surrogate halves as \uXXXX, lower-case hex [stapler export/JSONDataWriter.java]
    r = s.get(d.url + "job/p/api/json", params={"tree": "description,name", "pretty": "true"})
    assert r.text == ('{\n  "_class" : "org.jenkinsci.plugins.workflow.job.WorkflowJob",\n'
                      '  "description" : "a\\u000ab \u00e9 \\ud83d\\ude00",\n  "name" : "p"\n}')
    compact = s.get(d.url + "job/p/api/json", params={"tree": "description"}).text
    assert '"description":"a\\u000ab \u00e9 \\ud83d\\ude00"' in compact
    assert json.loads(compact)["description"] == "a\nb \u00e9 \U0001F600"


def test_xml_flavour_singular_array_elements_and_no_declaration(d, s):
    create(s, d, "p")
    # serveExposedBean(Flavor.XML) writes no declaration, _class='...' in single quotes, arrays
    # as repeated elements named toSingular(property) ("jobs" -> job, "views" -> view,
    # "authorities" -> authority) [stapler export/XMLDataWriter.java startObject/adjustName]
    r = s.get(d.url + "api/xml", params={"tree": "jobs[name],views[name]"})
    assert r.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert r.text == ("<hudson _class='hudson.model.Hudson'>"
                      "<job _class='org.jenkinsci.plugins.workflow.job.WorkflowJob'><name>p</name></job>"
                      "<view _class='hudson.model.AllView'><name>all</name></view></hudson>")
    who = s.get(d.url + "whoAmI/api/xml").text
    assert "<authority>authenticated</authority>" in who
    # wrapper without xpath: Api.doXml serves the whole bean, the wrapper is ignored
    assert s.get(d.url + "api/xml", params={"tree": "mode", "wrapper": "w"}).text == \
        "<hudson _class='hudson.model.Hudson'><mode>NORMAL</mode></hudson>"


def test_xpath_wrapper_and_match_errors(d, s):
    create(s, d, "a")
    create(s, d, "b")
    # Api.doXml: with wrapper, every match (none too) under <wrapper> (dom4j XMLWriter: no
    # declaration, <w/> when empty, _class="..."); without it no match -> 404 "XPath x didn’t
    # match", several -> 500 "XPath "x" matched N nodes. ..." as plain text [core hudson/model/
    # Api.java doXml; Messages Api.NoXPathMatch/Api.MultipleMatch]
    r = s.get(d.url + "api/xml", params={"tree": "jobs[name]", "xpath": "//job/name", "wrapper": "names"})
    assert r.status_code == 200 and r.text == "<names><name>a</name><name>b</name></names>"
    r = s.get(d.url + "api/xml", params={"xpath": "//nothing", "wrapper": "w"})
    assert r.status_code == 200 and r.text == "<w/>"
    r = s.get(d.url + "api/xml", params={"xpath": "//nothing"})
    assert r.status_code == 404 and r.text == "XPath //nothing didn\u2019t match"
    r = s.get(d.url + "api/xml", params={"tree": "jobs[name]", "xpath": "//job"})
    assert r.status_code == 500 and r.text.startswith('XPath "//job" matched 2 nodes.')
    r = s.get(d.url + "api/xml", params={"tree": "mode", "xpath": "/hudson/mode"})
    assert r.status_code == 200 and r.text == "<mode>NORMAL</mode>"
    r = s.get(d.url + "api/xml", params={"xpath": "//mode", "wrapper": "1bad"})
    assert r.status_code == 400 and r.text.startswith("The wrapper parameter can only contain")


# -- URLs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "job/p", "job/p/1", "job/p/lastBuild", "queue/item/{qid}", "view/all", "computer",
    "computer/(built-in)", "computer/(built-in)/executors/0", "user/admin", "me", "whoAmI", "queue",
    "pluginManager",
])
def test_object_urls_without_trailing_slash_redirect(d, s, path):
    create(s, d, "p")
    loc = s.post(d.url + "job/p/build").headers["Location"]
    qid = loc.rstrip("/").rsplit("/", 1)[1]
    assert d.wait_idle(5)
    path = path.format(qid=qid)
    # DirectoryishDispatcher is the first dispatcher of every object: no '/' at the end of an
    # object's URL -> 302 to the URL plus '/', query kept, for every method
    # [stapler DirectoryishDispatcher.java; MetaClass.buildDispatchers]
    for method in ("GET", "POST", "DELETE"):
        r = s.request(method, d.url + path + "?a=1", allow_redirects=False)
        assert r.status_code == 302, (method, path, r.status_code)
        assert r.headers["Location"] == d.url + path + "/?a=1"
    assert s.get(d.url + path + "/").status_code == 200
    assert requests.get(d.url + path, auth=(d.user, d.token), timeout=10).url == d.url + path + "/"


# -- views -----------------------------------------------------------------------------------

LIST_VIEW = """<hudson.model.ListView><name>ignored</name><description>d</description>
<jobNames><comparator class="java.lang.String$CaseInsensitiveComparator"/><string>p</string></jobNames>
</hudson.model.ListView>"""


def test_create_view_xml_200_form_302_and_errors(d, s):
    create(s, d, "p")
    # View.create: XML body without mode -> createViewFromXML, the URL's name wins, 200 empty
    # [core hudson/model/View.java create, createViewFromXML]
    r = s.post(d.url + "createView", params={"name": "v1"}, data=LIST_VIEW,
               headers={"Content-Type": "application/xml"})
    assert r.status_code == 200 and r.content == b""
    v = s.get(d.url + "view/v1/api/json").json()
    assert v == {"_class": "hudson.model.ListView", "description": "d",
                 "jobs": [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "p",
                           "url": d.url + "job/p/", "color": "notbuilt"}],
                 "name": "v1", "property": [], "url": d.url + "view/v1/"}
    # form with mode -> descriptor.newInstance, 302 to view/<name>/configure
    r = s.post(d.url + "createView", data={"name": "v2", "mode": "hudson.model.ListView", "json": "{}"},
               allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == d.url + "view/v2/configure"
    # Failures (400 + X-Error): existing name, no mode for a form, unknown mode
    r = s.post(d.url + "createView", data={"name": "v2", "mode": "hudson.model.ListView"})
    assert r.status_code == 400 and r.headers["X-Error"] == 'A view already exists with the name "v2"'
    r = s.post(d.url + "createView", data={"name": "v3"})
    assert r.status_code == 400 and r.headers["X-Error"] == "No view type is specified"
    # getView is an exact, case-sensitive match [core ViewGroupMixIn.getView]
    assert s.get(d.url + "view/V1/api/json").status_code == 404
    assert [x["name"] for x in s.get(d.url + "api/json").json()["views"]] == ["all", "v1", "v2"]
    # the last view cannot be deleted: IllegalStateException -> 500 [core ViewGroupMixIn.deleteView]
    for name in ("v1", "v2"):
        r = s.post(d.url + f"view/{name}/doDelete", allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == d.url
    assert s.post(d.url + "view/all/doDelete").status_code == 500


def test_root_all_view_config_and_folder_default_view_is_All(d, s):
    from tests.test_double_items import FOLDER

    # GET view/all/config.xml: View.doConfigDotXml -> writeXml -> XStream2.toXMLUTF8, whose
    # declaration uses double quotes and is followed by a newline [core XStream2.toXMLUTF8]
    r = s.get(d.url + "view/all/config.xml")
    assert r.status_code == 200
    assert r.text.startswith('<?xml version="1.1" encoding="UTF-8"?>\n<hudson.model.AllView>\n  <name>all</name>')
    create(s, d, "f", FOLDER)
    # a folder's default view is new AllView("All", this) [cloudbees-folder AbstractFolder
    # initViews]; View.getUrl of the primary view is the owner's URL
    assert s.get(d.url + "job/f/view/All/").status_code == 200
    assert s.get(d.url + "job/f/view/all/").status_code == 404
    f = s.get(d.url + "job/f/api/json").json()
    assert f["primaryView"] == {"_class": "hudson.model.AllView", "name": "All", "url": d.url + "job/f/"}
    r = s.post(d.url + "job/f/createView", params={"name": "fv"}, data=LIST_VIEW,
               headers={"Content-Type": "text/xml"})
    assert r.status_code == 200
    assert s.get(d.url + "job/f/view/fv/api/json").json()["url"] == d.url + "job/f/view/fv/"


# -- move ------------------------------------------------------------------------------------

def test_move_between_root_and_folders(d, s):
    from tests.test_double_items import FOLDER

    create(s, d, "f", FOLDER)
    create(s, d, "g", FOLDER)
    create(s, d, "p")
    s.post(d.url + "job/p/build")
    assert d.wait_idle(5)
    # DefaultRelocationUI.doMove: 302 to the new parent's URL + shortUrl; builds move along
    # [cloudbees-folder relocate/DefaultRelocationUI.java doMove, StandardHandler.handle; core Items.move]
    r = s.post(d.url + "job/p/move/move", params={"destination": "/f"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == d.url + "job/f/job/p/"
    assert s.get(d.url + "job/p/api/json").status_code == 404
    j = s.get(d.url + "job/f/job/p/api/json").json()
    assert j["fullName"] == "f/p" and j["lastBuild"]["url"] == d.url + "job/f/job/p/1/"
    # a destination not in validDestinations (unknown, the item itself, inside it, the current
    # parent) -> forwardToPreviousPage: 302 to the Referer, else "."
    for dest in ("/nope", "/f", "f"):
        r = s.post(d.url + "job/f/job/p/move/move", params={"destination": dest},
                   headers={"Referer": d.url + "somewhere"}, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == d.url + "somewhere", dest
    r = s.post(d.url + "job/f/move/move", params={"destination": "/f"}, allow_redirects=False)
    assert r.headers["Location"] == d.url + "job/f/move/"
    # folder into folder, then back to the root ("/" + Jenkins.getFullName() == "/")
    r = s.post(d.url + "job/f/move/move", params={"destination": "/g"}, allow_redirects=False)
    assert r.headers["Location"] == d.url + "job/g/job/f/"
    r = s.post(d.url + "job/g/job/f/job/p/move/move", params={"destination": "/"}, allow_redirects=False)
    assert r.headers["Location"] == d.url + "job/p/"
    # @RequirePOST
    assert s.get(d.url + "job/p/move/move", params={"destination": "/g"}).status_code == 405


# -- /build with a json form on a parameterized job ------------------------------------------

def test_build_json_form_on_parameterized_job(d, s):
    from tests.test_double_items import PARAMS

    create(s, d, "p", PARAMS)
    d.set_executors(0)  # items stay queued
    form = {"json": json.dumps({"parameter": [{"name": "ENV", "value": "prod"}]})}
    # ParametersDefinitionProperty._doBuild: only the submitted values go into the
    # ParametersAction (no defaults filled in), the cause is `new Cause.UserIdCause()`, and
    # sendRedirect(statusCode (201), the queue item) [core hudson/model/ParametersDefinitionProperty.java]
    r = s.post(d.url + "job/p/build", data=form, allow_redirects=False)
    assert r.status_code == 201
    item = s.get(r.headers["Location"] + "api/json").json()
    params = next(a for a in item["actions"] if a.get("_class") == "hudson.model.ParametersAction")
    assert [(p["name"], p["value"]) for p in params["parameters"]] == [("ENV", "prod")]
    causes = item["actions"][0]["causes"]
    assert causes[0]["_class"] == "hudson.model.Cause$UserIdCause" and causes[0]["userId"] == d.user
    # the same values again: Queue.schedule returns null for the duplicate -> sendRedirect(".")
    r2 = s.post(d.url + "job/p/build", data=form, allow_redirects=False)
    assert r2.status_code == 302 and r2.headers["Location"] == d.url + "job/p/"
    # statusCode and a safe redirectTo from the form are honoured (jenkinsapi sends 303 + ".")
    form3 = {"json": json.dumps({"parameter": {"name": "ENV", "value": "dev"}, "statusCode": "303",
                                 "redirectTo": "."})}
    r3 = s.post(d.url + "job/p/build", data=form3, allow_redirects=False)
    assert r3.status_code == 303 and r3.headers["Location"] == d.url + "job/p/"
    form4 = {"json": json.dumps({"parameter": {"name": "ENV", "value": "x"}, "redirectTo": "https://evil/"})}
    r4 = s.post(d.url + "job/p/build", data=form4, allow_redirects=False)
    assert r4.status_code == 500  # Illegal choice for parameter ENV: x


# -- smaller ones ----------------------------------------------------------------------------

def test_rename_location_check_job_name_headers_and_wrong_build_token(d, s):
    create(s, d, "old")
    # AbstractItem.doConfirmRename -> HttpResponses.redirectTo("../" + Functions.encode(newName)):
    # relative to .../job/old/confirmRename, so no trailing slash (DirectoryishDispatcher adds it)
    r = s.post(d.url + "job/old/confirmRename", data={"newName": "new one"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == d.url + "job/new%20one"
    assert s.get(r.headers["Location"], allow_redirects=False).headers["Location"] == d.url + "job/new%20one/"
    # View.doCheckJobName -> FormValidation.respond: CSP headers; Util.escape in the message
    # [core hudson/util/FormValidation.java respond; hudson/Util.java escape]
    r = s.get(d.url + "checkJobName", params={"value": "new one"})
    assert r.headers["Content-Type"] == "text/html;charset=UTF-8"
    for h in ("Content-Security-Policy", "X-WebKit-CSP", "X-Content-Security-Policy"):
        assert r.headers[h] == "sandbox; default-src 'none';"
    assert r.text == '<div class="error">A job already exists with the name \u2018new one\u2019</div>'
    assert s.get(d.url + "checkJobName", params={"value": "free"}).text == "<div/>"
    # a wrong build token: BuildAuthorizationToken.checkPermission throws AccessDeniedException
    # ("Invalid token provided.") -> AccessDeniedHandlerImpl renders accessDenied.jelly, 403,
    # without the X-Required-Permission headers of AccessDeniedException3
    xml = PIPELINE.replace("</flow-definition>", "<authToken>right</authToken></flow-definition>")
    create(s, d, "t", xml)
    # (even for a user who has Item/Build: the token is checked first)
    r = s.post(d.url + "job/t/build", params={"token": "wrong"})
    assert r.status_code == 403 and "Access Denied" in r.text and "Invalid token provided." in r.text
    assert "X-Required-Permission" not in r.headers
    r = s.get(d.url + "job/t/build", params={"token": "right"}, allow_redirects=False)
    assert r.status_code == 201  # a valid token also allows GET
