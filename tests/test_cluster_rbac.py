"""Issue 6: the real RBAC authorizer grants the Jenkins agent ServiceAccount what the kubernetes
plugin needs in its namespace, and nothing on secrets elsewhere (SubjectAccessReview)."""

import tempfile
import uuid
from pathlib import Path

import pytest

from tests.cluster.rendered import find, render_available, render_lab_manifests

pytestmark = pytest.mark.cluster

AGENT_SA = "jenkins-agent"

# The kubernetes plugin's documented minimum for its agent namespace.
AGENT_RULES = [
    {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "apiGroups": [""],
        "resources": ["pods/exec"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["watch"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
]


def _rendered_agent_rbac(lab_cluster, workdir):
    """Apply the project's rendered SA/Role/RoleBinding manifests when `jenkins-kit render`
    exists; return the agent namespace, or None to fall back to the test's own RBAC."""
    manifests = render_lab_manifests(Path(workdir) / "render")
    if manifests is None:
        return None
    (sa,) = find(manifests, "ServiceAccount", AGENT_SA)
    ns = sa["metadata"].get("namespace", "default")
    for d in find(manifests, "Namespace"):
        lab_cluster.create_namespace(d["metadata"]["name"])
    lab_cluster.create_namespace(ns)
    rbac = [
        f
        for f, docs in manifests.items()
        if any(d["kind"] in ("ServiceAccount", "Role", "RoleBinding") for d in docs)
    ]
    lab_cluster.kubectl_run(
        "apply", "--server-side", *[a for f in rbac for a in ("-f", str(f))]
    )
    return ns


def _own_agent_rbac(lab_cluster, ns):
    api = lab_cluster.api
    lab_cluster.create_namespace(ns)
    api.create(
        f"/api/v1/namespaces/{ns}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": AGENT_SA}},
    )
    api.create(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": AGENT_SA},
            "rules": AGENT_RULES,
        },
    )
    api.create(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": AGENT_SA},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": AGENT_SA,
            },
            "subjects": [{"kind": "ServiceAccount", "name": AGENT_SA, "namespace": ns}],
        },
    )


def _allowed(lab_cluster, sa_ns, verb, resource, namespace, subresource=None):
    user = f"system:serviceaccount:{sa_ns}:{AGENT_SA}"
    attrs = {"namespace": namespace, "verb": verb, "resource": resource, "group": ""}
    if subresource:
        attrs["subresource"] = subresource
    review = lab_cluster.api.create(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{sa_ns}",
                    "system:authenticated",
                ],
                "resourceAttributes": attrs,
            },
        },
    )
    return review["status"].get("allowed", False)


@pytest.fixture(scope="module")
def agent_rbac(lab_cluster):
    source = "render"
    with tempfile.TemporaryDirectory() as tmp:
        ns = _rendered_agent_rbac(lab_cluster, tmp)
    if ns is None:
        source = "test"
        ns = f"jenkins-agents-{uuid.uuid4().hex[:6]}"
        _own_agent_rbac(lab_cluster, ns)
    lab_cluster.wait_for(
        lambda: lab_cluster.api.get_or_none(
            f"/api/v1/namespaces/{ns}/serviceaccounts/{AGENT_SA}"
        ),
        timeout=30,
        what="agent ServiceAccount",
    )
    return {"ns": ns, "source": source}


@pytest.fixture(scope="module")
def agent_ns(agent_rbac):
    return agent_rbac["ns"]


def test_agent_rbac_comes_from_the_render_step_when_it_exists(agent_rbac):
    expected = "render" if render_available() else "test"
    assert agent_rbac["source"] == expected


def test_agent_can_create_pods_and_exec_in_its_namespace(lab_cluster, agent_ns):
    assert _allowed(lab_cluster, agent_ns, "create", "pods", agent_ns)
    assert _allowed(
        lab_cluster, agent_ns, "create", "pods", agent_ns, subresource="exec"
    )
    assert _allowed(lab_cluster, agent_ns, "get", "pods", agent_ns, subresource="log")
    assert _allowed(lab_cluster, agent_ns, "delete", "pods", agent_ns)


def test_agent_cannot_read_secrets_outside_its_namespace(lab_cluster, agent_ns):
    other = f"elsewhere-{uuid.uuid4().hex[:6]}"
    lab_cluster.create_namespace(other)
    for ns in (other, "kube-system", "default"):
        assert not _allowed(lab_cluster, agent_ns, "get", "secrets", ns), ns
        assert not _allowed(lab_cluster, agent_ns, "list", "secrets", ns), ns
    assert not _allowed(
        lab_cluster, agent_ns, "create", "pods", other, subresource="exec"
    )
    lab_cluster.delete_namespace(other)


def test_kubectl_auth_can_i_agrees(lab_cluster, agent_ns):
    who = f"system:serviceaccount:{agent_ns}:{AGENT_SA}"
    yes = lab_cluster.kubectl_run(
        "auth", "can-i", "create", "pods/exec", "-n", agent_ns, "--as", who, check=False
    )
    assert yes.stdout.strip() == "yes", yes.stderr
    no = lab_cluster.kubectl_run(
        "auth", "can-i", "get", "secrets", "-n", "kube-system", "--as", who, check=False
    )
    assert no.stdout.strip() == "no", no.stderr
