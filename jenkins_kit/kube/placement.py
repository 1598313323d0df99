"""Placement explainer: why a pod landed where it did, or why it could not land at all.

Pure functions over plain Kubernetes JSON (camelCase dicts, as the API returns them). The logic is
the scheduler's own for the parts that decide our controller's placement: taints vs tolerations
(TaintToleration plugin), nodeSelector and required node affinity (NodeAffinity plugin), cordoned
nodes (NodeUnschedulable plugin).

The taint effects, as the textbook's table puts them:

| effect           | new pods that do not tolerate it          | pods already running there       |
|------------------|-------------------------------------------|----------------------------------|
| NoSchedule       | never scheduled on the node               | stay                             |
| PreferNoSchedule | avoided if any other node fits (soft)     | stay                             |
| NoExecute        | never scheduled on the node               | evicted (after tolerationSeconds) |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

HOSTNAME_LABEL = "kubernetes.io/hostname"

EFFECTS: dict[str, str] = {
    "NoSchedule": "pods that do not tolerate it are never scheduled on the node; pods already there stay",
    "PreferNoSchedule": "the scheduler avoids the node for pods that do not tolerate it, but may still use it if nothing else fits",
    "NoExecute": "pods that do not tolerate it are never scheduled on the node, and running ones are evicted",
}
HARD_EFFECTS = ("NoSchedule", "NoExecute")


def taint_str(t: dict[str, Any]) -> str:
    key = t.get("key", "")
    value = t.get("value")
    return f"{key}={value}:{t.get('effect', '')}" if value else f"{key}:{t.get('effect', '')}"


def toleration_str(t: dict[str, Any]) -> str:
    op = t.get("operator") or "Equal"
    key = t.get("key") or "<any key>"
    s = f"{key} {op}"
    if op == "Equal":
        s += f" {t.get('value', '')!r}"
    s += f" effect={t.get('effect') or '<any>'}"
    return s


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """core/v1 Toleration.ToleratesTaint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True  # an empty key with Exists matches every taint
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated(taints: list[dict[str, Any]], tolerations: list[dict[str, Any]], effects: tuple[str, ...] = HARD_EFFECTS) -> list[dict[str, Any]]:
    """Taints with one of `effects` that no toleration matches."""
    return [t for t in taints if t.get("effect") in effects and not any(tolerates(tol, t) for tol in tolerations)]


def _expr_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
    has = key in labels
    if op == "In":
        return has and labels[key] in values
    if op == "NotIn":
        return not has or labels[key] not in values
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt") and has and values:
        try:
            a, b = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def _required_affinity(pod: dict[str, Any]) -> list[dict[str, Any]]:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    req = aff.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    return req.get("nodeSelectorTerms") or []


def selector_mismatch(pod: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """Why the pod's nodeSelector / required node affinity reject the node ([] if they accept it)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    out = []
    for k, v in sorted(((pod.get("spec") or {}).get("nodeSelector") or {}).items()):
        if labels.get(k) != v:
            have = f"has {k}={labels[k]}" if k in labels else f"has no {k} label"
            out.append(f"nodeSelector wants {k}={v}, node {have}")
    terms = _required_affinity(pod)
    if terms:
        ok = any(all(_expr_matches(e, labels) for e in (t.get("matchExpressions") or [])) for t in terms)
        if not ok:
            out.append("required node affinity does not match the node's labels")
    return out


@dataclass
class NodeVerdict:
    node: str
    fits: bool
    reasons: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)  # PreferNoSchedule taints the pod does not tolerate

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "fits": self.fits, "reasons": self.reasons, "soft": self.soft}


def judge_node(pod: dict[str, Any], node: dict[str, Any]) -> NodeVerdict:
    name = (node.get("metadata") or {}).get("name", "?")
    spec = node.get("spec") or {}
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    reasons = selector_mismatch(pod, node)
    if spec.get("unschedulable"):
        unsched = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        if not any(tolerates(t, unsched) for t in tolerations):
            reasons.append("node is cordoned (spec.unschedulable: true)")
    for t in untolerated(spec.get("taints") or [], tolerations):
        reasons.append(f"untolerated taint {taint_str(t)} ({t.get('effect')}: {EFFECTS.get(t.get('effect', ''), '')})")
    soft = [taint_str(t) for t in untolerated(spec.get("taints") or [], tolerations, ("PreferNoSchedule",))]
    return NodeVerdict(name, not reasons, reasons, soft)


Status = Literal["ok", "elsewhere", "unschedulable", "pending", "missing-node"]


@dataclass
class PlacementReport:
    status: Status
    pod: str
    node: str | None
    expected: str
    summary: str
    details: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    verdicts: list[NodeVerdict] = field(default_factory=list)
    scheduler_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "pod": self.pod,
            "node": self.node,
            "expected": self.expected,
            "summary": self.summary,
            "details": self.details,
            "fixes": self.fixes,
            "scheduler_message": self.scheduler_message,
            "nodes": [v.to_json() for v in self.verdicts],
        }

    def lines(self) -> list[str]:
        out = [self.summary]
        out += [f"  - {d}" for d in self.details]
        if self.scheduler_message:
            out.append(f"  scheduler said: {self.scheduler_message}")
        out += [f"  fix: {f}" for f in self.fixes]
        return out


def _scheduled_condition(pod: dict[str, Any]) -> dict[str, Any] | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "PodScheduled":
            return c
    return None


def _node_name(n: dict[str, Any]) -> str:
    return (n.get("metadata") or {}).get("name", "?")


def explain(pod: dict[str, Any], nodes: list[dict[str, Any]], expected: str) -> PlacementReport:
    """Explain the pod's placement relative to the node it should land on (`expected`)."""
    pname = (pod.get("metadata") or {}).get("name", "?")
    spec = pod.get("spec") or {}
    node_name = spec.get("nodeName")
    selector = spec.get("nodeSelector") or {}
    tolerations = spec.get("tolerations") or []
    by_name = {_node_name(n): n for n in nodes}
    verdicts = [judge_node(pod, n) for n in nodes]
    target = by_name.get(expected)
    target_verdict = next((v for v in verdicts if v.node == expected), None)
    cond = _scheduled_condition(pod)
    sched_msg = cond.get("message") if cond and cond.get("status") == "False" else None

    if node_name:
        if node_name == expected:
            tol = []
            if target is not None:
                hard = [t for t in (target.get("spec") or {}).get("taints") or [] if t.get("effect") in HARD_EFFECTS]
                tol = [taint_str(t) for t in hard]
            summary = f"pod {pname} is on {expected}, the control-plane node"
            details = [f"it tolerates {', '.join(tol)}" if tol else f"{expected} carries no NoSchedule/NoExecute taint"]
            if selector.get(HOSTNAME_LABEL) == expected:
                details.append(f"nodeSelector {HOSTNAME_LABEL}={expected} pins it there")
            return PlacementReport("ok", pname, node_name, expected, summary, details, [], verdicts)
        details = []
        fixes = []
        if selector.get(HOSTNAME_LABEL) != expected:
            if HOSTNAME_LABEL not in selector:
                details.append(
                    f"the pod has no nodeSelector {HOSTNAME_LABEL}={expected}, so the scheduler was free to pick any node "
                    "whose taints it tolerates, and workers carry none"
                )
            else:
                details.append(f"the pod's nodeSelector pins {HOSTNAME_LABEL}={selector[HOSTNAME_LABEL]}, not {expected}")
            fixes.append(f"set controller.nodeSelector {{{HOSTNAME_LABEL}: {expected}}} (cluster.control_plane_node in the config)")
        if target_verdict is not None and not target_verdict.fits:
            details += [f"{expected}: {r}" for r in target_verdict.reasons]
        if target_verdict is not None and target_verdict.soft:
            details.append(f"{expected} has PreferNoSchedule taint(s) {', '.join(target_verdict.soft)}: a preference only")
        summary = f"pod {pname} went to {node_name}, a worker, not the control-plane node {expected}"
        return PlacementReport("elsewhere", pname, node_name, expected, summary, details, fixes, verdicts)

    if target is None:
        summary = f"pod {pname} is not scheduled, and node {expected} does not exist"
        details = [f"nodes in the cluster: {', '.join(sorted(by_name)) or 'none'}"]
        fixes = ["set cluster.control_plane_node to the control-plane node's name (kubectl get nodes)"]
        return PlacementReport("missing-node", pname, None, expected, summary, details, fixes, verdicts, sched_msg)

    assert target_verdict is not None
    if target_verdict.fits and not sched_msg:
        summary = f"pod {pname} is not scheduled yet; nothing in its spec keeps it off {expected}"
        return PlacementReport("pending", pname, None, expected, summary, [], [], verdicts, sched_msg)

    details = [f"{expected}: {r}" for r in target_verdict.reasons]
    fixes = []
    for t in untolerated((target.get("spec") or {}).get("taints") or [], tolerations):
        fixes.append(
            f"tolerate {taint_str(t)}: controller.tolerations [{{key: {t.get('key')}, operator: Exists, effect: {t.get('effect')}}}]"
        )
    others = [v for v in verdicts if v.node != expected]
    if others and all(not v.fits for v in others):
        why = sorted({r for v in others for r in v.reasons})
        details.append(f"no other node fits either: {'; '.join(why)}")
    if not target_verdict.reasons:
        details.append(f"{expected} accepts the pod by taints and labels; see the scheduler's message (resources, volumes)")
    tainted = [t for t in untolerated((target.get("spec") or {}).get("taints") or [], tolerations)]
    if tainted:
        summary = f"pod {pname} cannot be scheduled: {expected} carries taint {', '.join(taint_str(t) for t in tainted)} that it does not tolerate"
    else:
        summary = f"pod {pname} cannot be scheduled on {expected}"
    if tolerations:
        details.append("the pod tolerates: " + "; ".join(toleration_str(t) for t in tolerations))
    else:
        details.append("the pod has no tolerations")
    return PlacementReport("unschedulable", pname, None, expected, summary, details, fixes, verdicts, sched_msg)


def taint_table() -> list[tuple[str, str]]:
    """The effect table, for docs and `doctor` output."""
    return list(EFFECTS.items())
