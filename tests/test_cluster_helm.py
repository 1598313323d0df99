"""Issue 6: helm (built from helm.sh/helm/v3) installs, re-applies and removes a chart on the lab cluster."""

import json
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

CHART = Path(__file__).parent / "fixtures" / "charts" / "lab-smoke"


def _state(lab_cluster, ns, release):
    api = lab_cluster.api
    return {
        "configmap": api.get(f"/api/v1/namespaces/{ns}/configmaps/{release}-settings")[
            "metadata"
        ]["resourceVersion"],
        "serviceaccount": api.get(f"/api/v1/namespaces/{ns}/serviceaccounts/{release}")[
            "metadata"
        ]["resourceVersion"],
        "service": api.get(f"/api/v1/namespaces/{ns}/services/{release}")["metadata"][
            "resourceVersion"
        ],
        # The deployment controller writes status, so compare the spec generation, not resourceVersion.
        "deployment": api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{release}")[
            "metadata"
        ]["generation"],
    }


def _release(lab_cluster, ns, release):
    out = lab_cluster.helm_run("list", "-n", ns, "--all", "-o", "json").stdout
    return next((r for r in json.loads(out) if r["name"] == release), None)


def test_helm_sees_real_versions(lab_cluster):
    version = lab_cluster.helm_run("version", "--short").stdout.strip()
    assert version.startswith("v3."), version
    server = lab_cluster.api.get("/version")
    assert server["gitVersion"].startswith("v1."), server
    assert server["major"] == "1"


def test_helm_upgrade_install_twice_then_uninstall(lab_cluster):
    ns = f"helm-{uuid.uuid4().hex[:6]}"
    release = "smoke"
    lab_cluster.create_namespace(ns)
    install = (
        "upgrade",
        "--install",
        release,
        str(CHART),
        "-n",
        ns,
        "--set",
        "controlPlane=true",
    )

    lab_cluster.helm_run(*install)
    rel = _release(lab_cluster, ns, release)
    assert rel and rel["status"] == "deployed" and rel["revision"] == "1", rel
    cm = lab_cluster.api.get(f"/api/v1/namespaces/{ns}/configmaps/{release}-settings")
    assert cm["data"]["kubeVersion"] == lab_cluster.api.get("/version")["gitVersion"]
    pod = lab_cluster.wait_for(
        lambda: next(
            (
                p
                for p in lab_cluster.api.get(f"/api/v1/namespaces/{ns}/pods")["items"]
                if p["spec"].get("nodeName")
            ),
            None,
        ),
        timeout=60,
        what="the chart's pod to be scheduled",
    )
    assert pod["spec"]["nodeName"] == "m-k8s"
    before = _state(lab_cluster, ns, release)

    lab_cluster.helm_run(*install)
    rel = _release(lab_cluster, ns, release)
    assert rel["status"] == "deployed" and rel["revision"] == "2", rel
    assert _state(lab_cluster, ns, release) == before, (
        "second upgrade --install changed objects"
    )
    history = json.loads(
        lab_cluster.helm_run("history", release, "-n", ns, "-o", "json").stdout
    )
    assert [h["revision"] for h in history] == [1, 2]

    lab_cluster.helm_run("uninstall", release, "-n", ns)
    assert _release(lab_cluster, ns, release) is None
    api = lab_cluster.api
    for path in (
        f"/api/v1/namespaces/{ns}/configmaps/{release}-settings",
        f"/api/v1/namespaces/{ns}/serviceaccounts/{release}",
        f"/api/v1/namespaces/{ns}/services/{release}",
        f"/apis/apps/v1/namespaces/{ns}/deployments/{release}",
    ):
        lab_cluster.wait_for(
            lambda path=path: api.get_or_none(path) is None,
            timeout=30,
            what=f"{path} to be removed",
        )
    secrets = api.get(f"/api/v1/namespaces/{ns}/secrets", labelSelector="owner=helm")[
        "items"
    ]
    assert secrets == []
    lab_cluster.delete_namespace(ns)
