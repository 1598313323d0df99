"""Issue 6: an NFS PV and a class-less PVC are bound by the real PV controller."""

import uuid

import pytest

from tests.cluster.rendered import find, render_available, render_lab_manifests

pytestmark = pytest.mark.cluster


def test_nfs_pv_and_classless_pvc_reach_bound(lab_cluster):
    api = lab_cluster.api
    ns = f"storage-{uuid.uuid4().hex[:6]}"
    pv_name = f"jenkins-home-{ns}"
    lab_cluster.create_namespace(ns)
    api.create(
        "/api/v1/persistentvolumes",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "labels": {"app": "jenkins"}},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "volumeMode": "Filesystem",
                # Nothing mounts it (no kubelet); a loopback server keeps any stray traffic local.
                "nfs": {"server": "127.0.0.1", "path": "/srv/nfs/jenkins"},
            },
        },
    )
    api.create(
        f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "jenkins-home"},
            "spec": {
                "storageClassName": "",
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "8Gi"}},
            },
        },
    )

    pvc = lab_cluster.wait_for(
        lambda: (
            (
                p := api.get(
                    f"/api/v1/namespaces/{ns}/persistentvolumeclaims/jenkins-home"
                )
            )["status"].get("phase")
            == "Bound"
            and p
        ),
        timeout=60,
        what="PVC to be Bound",
    )
    assert pvc["spec"]["volumeName"] == pv_name
    assert pvc["status"]["capacity"]["storage"] == "10Gi"
    pv = lab_cluster.wait_for(
        lambda: (
            (v := api.get(f"/api/v1/persistentvolumes/{pv_name}"))["status"].get(
                "phase"
            )
            == "Bound"
            and v
        ),
        timeout=30,
        what="PV to be Bound",
    )
    assert pv["spec"]["claimRef"]["namespace"] == ns
    assert pv["spec"]["claimRef"]["name"] == "jenkins-home"
    # The protection controllers' finalizers are in place, and they let a delete go through.
    assert "kubernetes.io/pvc-protection" in pvc["metadata"].get("finalizers", [])
    assert "kubernetes.io/pv-protection" in pv["metadata"].get("finalizers", [])

    api.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/jenkins-home")
    lab_cluster.wait_for(
        lambda: (
            api.get_or_none(
                f"/api/v1/namespaces/{ns}/persistentvolumeclaims/jenkins-home"
            )
            is None
        ),
        timeout=30,
        what="PVC deletion (pvc-protection controller)",
    )
    lab_cluster.wait_for(
        lambda: (
            api.get(f"/api/v1/persistentvolumes/{pv_name}")["status"].get("phase")
            == "Released"
        ),
        timeout=30,
        what="PV to be Released (Retain policy)",
    )
    api.delete(f"/api/v1/persistentvolumes/{pv_name}")
    lab_cluster.wait_for(
        lambda: api.get_or_none(f"/api/v1/persistentvolumes/{pv_name}") is None,
        timeout=30,
        what="PV deletion (pv-protection controller)",
    )
    lab_cluster.delete_namespace(ns)


@pytest.mark.skipif(
    not render_available(), reason="no `jenkins-kit render` in this checkout"
)
def test_rendered_jenkins_home_pv_and_pvc_reach_bound(lab_cluster, tmp_path):
    """The project's own rendered PV/PVC (examples/lab config) bind through the PV controller."""
    manifests = render_lab_manifests(tmp_path / "render")
    (pv,) = find(manifests, "PersistentVolume")
    (pvc,) = find(manifests, "PersistentVolumeClaim")
    assert pv["spec"].get("nfs") and pvc["spec"].get("storageClassName") == ""
    ns = pvc["metadata"]["namespace"]
    lab_cluster.create_namespace(ns)
    files = [f for f, docs in manifests.items() if any(d in docs for d in (pv, pvc))]
    lab_cluster.kubectl_run(
        "apply", "--server-side", *[a for f in files for a in ("-f", str(f))]
    )
    api = lab_cluster.api
    claim = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{pvc['metadata']['name']}"
    bound = lab_cluster.wait_for(
        lambda: (c := api.get(claim))["status"].get("phase") == "Bound" and c,
        timeout=60,
        what="rendered PVC to be Bound",
    )
    assert bound["spec"]["volumeName"] == pv["metadata"]["name"]
    volume = api.get(f"/api/v1/persistentvolumes/{pv['metadata']['name']}")
    assert volume["status"]["phase"] == "Bound"
    assert volume["spec"]["claimRef"]["name"] == pvc["metadata"]["name"]
