"""Jenkins Job Builder's CLI (PyPI; it talks to Jenkins through python-jenkins) against the double:
``jenkins-jobs update`` creates and reconfigures folders, jobs and views, ``jenkins-jobs delete``
removes them.  Every request JJB makes must get what a controller answers, or it exits non-zero.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.test_double_basics import tok

# The CLI installed beside this interpreter (the venv's), else one on PATH.
_BESIDE = Path(sys.executable).parent / "jenkins-jobs"
JJB = str(_BESIDE) if _BESIDE.exists() else shutil.which("jenkins-jobs")
pytestmark = pytest.mark.skipif(JJB is None, reason="jenkins-job-builder is not installed")

JOBS = """
- job:
    name: team
    project-type: folder
- job:
    name: app
    folder: team
    project-type: pipeline
    description: {desc}
    parameters:
      - string:
          name: BRANCH
          default: main
    dsl: |
      stage('build') {{{{ echo 'hi' }}}}
- job:
    name: top
    project-type: pipeline
    dsl: "stage('x') {{{{}}}}"
- view:
    name: mine
    view-type: list
    description: {desc}
    job-name:
      - top
"""


def jjb(d, tmp_path, *args, plugins=False):
    ini = tmp_path / "jenkins_jobs.ini"
    # the token is read from a file JJB is given, never from argv
    ini.write_text(f"[job_builder]\nignore_cache=True\n[jenkins]\nurl={d.url}\nuser={d.user}\n"
                   f"password={d.token}\nquery_plugins_info={plugins}\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONWARNINGS="ignore")
    return subprocess.run([str(JJB), "--conf", str(ini), "-l", "error", *args], check=False,
                          capture_output=True, text=True, env=env, timeout=120)


def test_update_creates_then_reconfigures_jobs_folders_and_views(jenkins_double, tmp_path):
    d = jenkins_double
    s = tok(d)
    defs = tmp_path / "jobs.yaml"
    defs.write_text(JOBS.format(desc="first"))
    # plugins=True: JJB reads pluginManager/api/json?depth=2 first [core PluginManager @Exported]
    p = jjb(d, tmp_path, "update", str(defs), plugins=True)
    assert p.returncode == 0, p.stderr[-3000:]
    # jobs: job_exists (GET job/x/api/json?tree=name), create_job (POST createItem, XML -> 200
    # [core ItemGroupMixIn.createTopLevelItem]), folder-aware URLs (job/team/createItem)
    assert s.get(d.url + "job/team/job/app/api/json", params={"tree": "description"}).json()["description"].startswith("first")
    assert s.get(d.url + "job/top/api/json").status_code == 200
    # views: view_exists (GET view/mine/api/json?tree=name), create_view (POST createView with an
    # XML body -> 200 [core Jenkins.doCreateView -> View.create isXmlSubmission])
    v = s.get(d.url + "view/mine/api/json").json()
    assert v["_class"] == "hudson.model.ListView" and v["name"] == "mine" and v["description"].startswith("first")
    assert [j["name"] for j in v["jobs"]] == ["top"]
    # GET view/mine/config.xml: View.writeXml -> XStream2.toXMLUTF8 [core View.java, XStream2.java]
    cfg = s.get(d.url + "view/mine/config.xml")
    assert cfg.status_code == 200 and cfg.text.startswith('<?xml version="1.1" encoding="UTF-8"?>\n<hudson.model.ListView>')
    assert ET.fromstring(cfg.content).findtext("name") == "mine"

    defs.write_text(JOBS.format(desc="second"))
    p = jjb(d, tmp_path, "update", str(defs))
    assert p.returncode == 0, p.stderr[-3000:]
    # reconfig_job: POST job/.../config.xml [core AbstractItem.doConfigDotXml -> updateByXml];
    # reconfig_view: POST view/mine/config.xml [core View.doConfigDotXml -> updateByXml]
    assert s.get(d.url + "job/team/job/app/api/json").json()["description"].startswith("second")
    assert s.get(d.url + "view/mine/api/json").json()["description"].startswith("second")


def test_delete_removes_jobs_and_views(jenkins_double, tmp_path):
    d = jenkins_double
    s = tok(d)
    defs = tmp_path / "jobs.yaml"
    defs.write_text(JOBS.format(desc="x"))
    assert jjb(d, tmp_path, "update", str(defs)).returncode == 0
    # delete_job: POST job/team/job/app/doDelete -> 302 [core AbstractItem.doDoDelete]
    p = jjb(d, tmp_path, "delete", "--path", str(defs), "team/app", "top")
    assert p.returncode == 0, p.stderr[-3000:]
    assert s.get(d.url + "job/team/job/app/api/json").status_code == 404
    assert s.get(d.url + "job/top/api/json").status_code == 404
    # delete_view: POST view/mine/doDelete -> 302 to the owner [core View.doDoDelete]
    p = jjb(d, tmp_path, "delete", "--path", str(defs), "--views-only", "mine")
    assert p.returncode == 0, p.stderr[-3000:]
    assert s.get(d.url + "view/mine/api/json").status_code == 404
    # the primary view stays: Jenkins' own AllView "all"
    assert [v["name"] for v in s.get(d.url + "api/json").json()["views"]] == ["all"]
