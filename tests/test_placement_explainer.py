"""The placement explainer: taints vs tolerations vs nodeSelector, on the seed lab's node shapes."""

from __future__ import annotations

import pytest

from jenkins_kit.kube.placement import (
    EFFECTS,
    explain,
    judge_node,
    taint_str,
    tolerates,
    untolerated,
)

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
MASTER_TAINT = {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}
TOLERATIONS = [
    {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
]


def node(name: str, taints=None, unschedulable=False, labels=None):
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], **({"unschedulable": True} if unschedulable else {})},
    }


NODES = [node("m-k8s", [CP_TAINT], labels={"node-role.kubernetes.io/control-plane": ""})] + [
    node(f"w{i}-k8s") for i in (1, 2, 3)
]


def pod(node_name=None, selector=True, tolerations=True, message=None):
    p = {
        "metadata": {"name": "jenkins-0"},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": "m-k8s"} if selector else {},
            "tolerations": TOLERATIONS if tolerations else [],
        },
        "status": {},
    }
    if node_name:
        p["spec"]["nodeName"] = node_name
    if message:
        p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]
    return p


@pytest.mark.parametrize(
    "tol,taint,expected",
    [
        ({"key": "a", "operator": "Exists", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}, True),
        ({"key": "a", "operator": "Exists"}, {"key": "a", "effect": "NoExecute"}, True),  # empty effect = any
        ({"key": "a", "operator": "Exists", "effect": "NoExecute"}, {"key": "a", "effect": "NoSchedule"}, False),
        ({"operator": "Exists"}, {"key": "anything", "value": "x", "effect": "NoSchedule"}, True),  # empty key + Exists
        ({"key": "a", "value": "1", "effect": "NoSchedule"}, {"key": "a", "value": "1", "effect": "NoSchedule"}, True),
        ({"key": "a", "value": "1", "effect": "NoSchedule"}, {"key": "a", "value": "2", "effect": "NoSchedule"}, False),
        ({"key": "a", "operator": "Equal", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}, True),
        ({"key": "b", "operator": "Exists", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}, False),
    ],
)
def test_toleration_matching(tol, taint, expected):
    assert tolerates(tol, taint) is expected


def test_prefer_no_schedule_is_soft_and_no_execute_is_hard():
    taints = [
        {"key": "soft", "effect": "PreferNoSchedule"},
        {"key": "hard", "effect": "NoExecute"},
        {"key": "plain", "effect": "NoSchedule"},
    ]
    assert [t["key"] for t in untolerated(taints, [])] == ["hard", "plain"]
    v = judge_node({"spec": {}}, node("n", taints))
    assert not v.fits and v.soft == ["soft:PreferNoSchedule"]
    assert any("evicted" in r for r in v.reasons)  # NoExecute's row of the table
    assert set(EFFECTS) == {"NoSchedule", "PreferNoSchedule", "NoExecute"}


def test_on_control_plane_is_ok_and_names_the_tolerated_taint():
    r = explain(pod("m-k8s"), NODES, "m-k8s")
    assert r.ok and r.node == "m-k8s"
    assert "node-role.kubernetes.io/control-plane:NoSchedule" in " ".join(r.details)


def test_without_toleration_names_the_taint_and_the_fix():
    msg = "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 node(s) didn't match Pod's node affinity/selector."
    r = explain(pod(tolerations=False, message=msg), NODES, "m-k8s")
    assert r.status == "unschedulable"
    assert "node-role.kubernetes.io/control-plane:NoSchedule" in r.summary
    assert r.scheduler_message == msg
    assert any("tolerate node-role.kubernetes.io/control-plane:NoSchedule" in f for f in r.fixes)
    assert any("no other node fits" in d and "nodeSelector wants kubernetes.io/hostname=m-k8s" in d for d in r.details)
    assert "the pod has no tolerations" in r.details


def test_without_node_selector_reports_the_worker():
    r = explain(pod("w2-k8s", selector=False), NODES, "m-k8s")
    assert r.status == "elsewhere" and r.node == "w2-k8s"
    assert "went to w2-k8s" in r.summary
    assert any("no nodeSelector kubernetes.io/hostname=m-k8s" in d for d in r.details)
    assert any("controller.nodeSelector" in f for f in r.fixes)


def test_legacy_master_taint_needs_its_own_toleration():
    nodes = [node("m-k8s", [MASTER_TAINT])] + NODES[1:]
    only_cp = dict(pod(), spec={"nodeSelector": {"kubernetes.io/hostname": "m-k8s"}, "tolerations": TOLERATIONS[:1]})
    r = explain(only_cp, nodes, "m-k8s")
    assert r.status == "unschedulable" and "node-role.kubernetes.io/master:NoSchedule" in r.summary
    assert explain(pod("m-k8s"), nodes, "m-k8s").ok


def test_missing_control_plane_node():
    r = explain(pod(), NODES[1:], "m-k8s")
    assert r.status == "missing-node"
    assert "w1-k8s" in r.details[0]


def test_cordoned_node_and_pending_without_reason():
    nodes = [node("m-k8s", [CP_TAINT], unschedulable=True)] + NODES[1:]
    r = explain(pod(message="0/4 nodes are available"), nodes, "m-k8s")
    assert r.status == "unschedulable" and any("cordoned" in d for d in r.details)
    r2 = explain(pod(), NODES, "m-k8s")
    assert r2.status == "pending"


def test_report_serialises():
    r = explain(pod(tolerations=False, message="x"), NODES, "m-k8s")
    j = r.to_json()
    assert j["status"] == "unschedulable" and len(j["nodes"]) == 4
    assert r.lines()[0] == r.summary
    assert taint_str({"key": "k", "value": "v", "effect": "NoExecute"}) == "k=v:NoExecute"
