"""Kubernetes objects jenkins-kit owns: namespaces, the NFS PV/PVC for JENKINS_HOME, agent RBAC.

Returned in apply order as plain dicts; `to_yaml` gives the deterministic text form.
"""

from __future__ import annotations

from typing import Any

import yaml

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.render.names import controller_service_account, labels

Manifest = dict[str, Any]

# What the Jenkins kubernetes plugin needs to run agent pods (plugin README, "RBAC"), no more.
PLUGIN_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
]
# What the generated pipeline's deploy stage needs: apply a Deployment + Service, wait for rollout.
DEPLOY_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "get", "list", "patch", "update", "watch"]},
    {"apiGroups": [""], "resources": ["services"], "verbs": ["create", "get", "list", "patch", "update", "watch"]},
]


def _meta(cfg: LabConfig, name: str, component: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = labels(cfg, component)
    return meta


def deploy_namespaces(cfg: LabConfig) -> list[str]:
    """Every namespace a generated pipeline deploys to: agents.deploy_namespace, then each repository's
    environments in config order. The agent gets DEPLOY_RULES in each of these and nowhere else."""
    out = [cfg.agents.deploy_namespace]
    for repo in cfg.repositories:
        for env in repo.deploy.environments:
            if env.target_namespace not in out:
                out.append(env.target_namespace)
    return out


def namespaces(cfg: LabConfig) -> list[str]:
    out: list[str] = []
    for ns in (cfg.cluster.namespace, cfg.agents.namespace, *deploy_namespaces(cfg)):
        if ns not in out and ns not in ("default", "kube-system", "kube-public"):
            out.append(ns)
    return out


def render_manifests(cfg: LabConfig) -> list[Manifest]:
    ns = cfg.cluster.namespace
    agent_ns = cfg.agents.namespace
    sa = cfg.agents.service_account
    out: list[Manifest] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(cfg, n, "namespace")} for n in namespaces(cfg)
    ]
    out.append(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": _meta(cfg, cfg.nfs.volume_name, "jenkins-home"),
            "spec": {
                "capacity": {"storage": cfg.nfs.size},
                "accessModes": ["ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "volumeMode": "Filesystem",
                # Pre-bound to our claim so no other claim can take Jenkins' home.
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": cfg.nfs.claim_name},
                "nfs": {"server": cfg.nfs.server, "path": cfg.nfs.path},
            },
        }
    )
    out.append(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _meta(cfg, cfg.nfs.claim_name, "jenkins-home", ns),
            "spec": {
                "accessModes": ["ReadWriteMany"],
                # "" (not absent) disables dynamic provisioning: bind only to our PV.
                "storageClassName": "",
                "volumeName": cfg.nfs.volume_name,
                "resources": {"requests": {"storage": cfg.nfs.size}},
            },
        }
    )
    out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(cfg, sa, "agent", agent_ns)})
    out.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(cfg, sa, "agent", agent_ns),
            "rules": PLUGIN_RULES,
        }
    )
    subjects = [{"kind": "ServiceAccount", "name": sa, "namespace": agent_ns}]
    controller_sa = {"kind": "ServiceAccount", "name": controller_service_account(cfg), "namespace": ns}
    if controller_sa not in subjects:
        subjects.append(controller_sa)
    out.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(cfg, sa, "agent", agent_ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
            "subjects": subjects,
        }
    )
    deploy_name = f"{sa}-deploy"
    for dns in deploy_namespaces(cfg):
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": _meta(cfg, deploy_name, "agent-deploy", dns),
                "rules": DEPLOY_RULES,
            }
        )
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": _meta(cfg, deploy_name, "agent-deploy", dns),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": deploy_name},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": agent_ns}],
            }
        )
    return out


def render_metallb(cfg: LabConfig) -> list[Manifest]:
    """IPAddressPool + L2Advertisement (MetalLB >= 0.13 CRDs, not the legacy ConfigMap).

    Applied only after the MetalLB chart has installed its CRDs, hence apart from the k8s/ files.
    """
    m = cfg.metallb
    if m is None or not m.enabled:
        return []
    name = f"{cfg.jenkins.release}-pool"

    def meta() -> dict[str, Any]:
        return {"name": name, "namespace": m.namespace, "labels": labels(cfg, "metallb")}

    return [
        {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": meta(),
         "spec": {"addresses": list(m.addresses), "autoAssign": True}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": meta(),
         "spec": {"ipAddressPools": [name]}},
    ]


def manifest_filename(index: int, m: Manifest) -> str:
    ns = m["metadata"].get("namespace")
    name = m["metadata"]["name"]
    kind = m["kind"].lower()
    return f"{index:02d}-{kind}-{ns + '-' if ns else ''}{name}.yaml"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (JCasC fragments, scripts) as literal blocks, so values files stay readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=False, width=4096)
