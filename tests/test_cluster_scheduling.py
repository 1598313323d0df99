"""Issue 6: the real scheduler honours the control-plane taint and node selectors on the lab Nodes."""

import time
import uuid

import pytest

pytestmark = pytest.mark.cluster

CP_TOLERATION = {
    "key": "node-role.kubernetes.io/control-plane",
    "operator": "Exists",
    "effect": "NoSchedule",
}
WORKERS = {"w1-k8s", "w2-k8s", "w3-k8s"}


def statefulset(name, *, tolerate, pin_to_control_plane, replicas=1):
    pod_spec = {
        "containers": [
            {
                "name": "jenkins",
                "image": "registry.invalid/jenkins:lts",
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            }
        ]
    }
    if tolerate:
        pod_spec["tolerations"] = [CP_TOLERATION]
    if pin_to_control_plane:
        pod_spec["nodeSelector"] = {"kubernetes.io/hostname": "m-k8s"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "serviceName": name,
            "replicas": replicas,
            # No kubelet: pods never get Ready by themselves, so OrderedReady would stop at pod-0.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    }


@pytest.fixture
def ns(lab_cluster):
    name = f"sched-{uuid.uuid4().hex[:6]}"
    lab_cluster.create_namespace(name)
    yield name
    lab_cluster.delete_namespace(name)


def _pod(lab_cluster, ns, name):
    return lab_cluster.api.get_or_none(f"/api/v1/namespaces/{ns}/pods/{name}")


def _scheduled_node(lab_cluster, ns, name, timeout=60):
    pod = lab_cluster.wait_for(
        lambda: (p := _pod(lab_cluster, ns, name)) and p["spec"].get("nodeName") and p,
        timeout=timeout,
        what=f"pod {ns}/{name} to be scheduled",
    )
    return pod["spec"]["nodeName"]


def test_tolerating_pinned_statefulset_lands_on_control_plane(lab_cluster, ns):
    lab_cluster.api.create(
        f"/apis/apps/v1/namespaces/{ns}/statefulsets",
        statefulset("jenkins", tolerate=True, pin_to_control_plane=True),
    )
    assert _scheduled_node(lab_cluster, ns, "jenkins-0") == "m-k8s"
    pod = _pod(lab_cluster, ns, "jenkins-0")
    scheduled = next(
        c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"
    )
    assert scheduled["status"] == "True"
    if lab_cluster.has_kwok:  # kwok, the node agent, runs it on m-k8s (its node IP)
        pod = lab_cluster.wait_for(
            lambda: (p := _pod(lab_cluster, ns, "jenkins-0"))["status"].get("phase") == "Running" and p,
            timeout=30, what="kwok to run jenkins-0")
        assert pod["status"]["hostIP"] == "127.0.0.10"
    else:
        assert pod["status"]["phase"] == "Pending"  # nothing runs it: there is no kubelet


def test_pinned_statefulset_without_toleration_stays_pending(lab_cluster, ns):
    lab_cluster.api.create(
        f"/apis/apps/v1/namespaces/{ns}/statefulsets",
        statefulset("jenkins", tolerate=False, pin_to_control_plane=True),
    )

    def unschedulable():
        pod = _pod(lab_cluster, ns, "jenkins-0")
        if not pod:
            return None
        cond = next(
            (
                c
                for c in pod["status"].get("conditions", [])
                if c["type"] == "PodScheduled"
            ),
            None,
        )
        return cond if cond and cond["status"] == "False" else None

    cond = lab_cluster.wait_for(
        unschedulable, timeout=60, what="scheduler to reject jenkins-0"
    )
    assert cond["reason"] == "Unschedulable"
    # e.g. "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 node(s) didn't match
    # Pod's node affinity/selector." The one tainted node is m-k8s (control-plane taint).
    assert "1 node(s) had untolerated taint" in cond["message"], cond["message"]
    assert "3 node(s) didn't match Pod's node affinity/selector" in cond["message"], (
        cond["message"]
    )
    time.sleep(2)
    pod = _pod(lab_cluster, ns, "jenkins-0")
    assert pod["status"]["phase"] == "Pending"
    assert not pod["spec"].get("nodeName")


def test_unpinned_statefulset_goes_to_workers(lab_cluster, ns):
    lab_cluster.api.create(
        f"/apis/apps/v1/namespaces/{ns}/statefulsets",
        statefulset("agents", tolerate=False, pin_to_control_plane=False, replicas=3),
    )
    nodes = {_scheduled_node(lab_cluster, ns, f"agents-{i}") for i in range(3)}
    assert nodes <= WORKERS, nodes


def test_mark_pod_running_makes_statefulset_ready(lab_cluster, ns):
    lab_cluster.api.create(
        f"/apis/apps/v1/namespaces/{ns}/statefulsets",
        statefulset("jenkins", tolerate=True, pin_to_control_plane=True),
    )
    assert _scheduled_node(lab_cluster, ns, "jenkins-0") == "m-k8s"
    pod = lab_cluster.mark_pod_running(ns, "jenkins-0")
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["hostIP"] == "127.0.0.10"
    sts = lab_cluster.wait_for(
        lambda: (
            (
                s := lab_cluster.api.get(
                    f"/apis/apps/v1/namespaces/{ns}/statefulsets/jenkins"
                )
            )["status"].get("readyReplicas")
            == 1
            and s
        ),
        timeout=30,
        what="StatefulSet readyReplicas=1",
    )
    assert sts["status"]["availableReplicas"] == 1
    # Graceful deletion would wait forever for a kubelet; the helper force-deletes.
    old_uid = pod["metadata"]["uid"]
    lab_cluster.force_delete_pod(ns, "jenkins-0")
    lab_cluster.wait_for(
        lambda: (
            (p := _pod(lab_cluster, ns, "jenkins-0")) is not None
            and p["metadata"].get("deletionTimestamp") is None
            and p["metadata"]["uid"] != old_uid
        ),
        timeout=30,
        what="StatefulSet to recreate jenkins-0",
    )
