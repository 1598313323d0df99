"""The cluster part of the README's first command (called by scripts/demo.py when the control-plane
binaries are built): doctor, plan, up, plan again, down, down --purge on the sample lab, against
the local kubelet-less control plane of tests/cluster (issue 6).

What is real and what stands in, said plainly on screen:
- the Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler) is real;
- there is no kubelet, so pods are scheduled but never run: `up --no-wait` verifies placement and
  skips the readiness wait;
- the official jenkins chart needs the network, so tests/fixtures/charts/jenkins-standin (a test
  chart accepting the same value keys) stands in for it;
- the sample lab's `metallb:` section is left out (installing MetalLB needs its chart repository);
  the NFS server and registry addresses are only written into objects, never contacted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml


def _kit(root: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> int:
    print("$ jenkins-kit " + " ".join(args), flush=True)
    rc = subprocess.call([sys.executable, "-m", "jenkins_kit", *args], cwd=root, env=env, stdin=subprocess.DEVNULL)
    if rc not in ok:
        raise SystemExit(f"demo: 'jenkins-kit {args[0]}' exited {rc}")
    return rc


def run_cluster_demo(root: Path, config: Path) -> None:
    sys.path.insert(0, str(root))
    from tests.cluster.harness import LabCluster  # noqa: PLC0415 - the harness lives with the tests

    chart = root / "tests" / "fixtures" / "charts" / "jenkins-standin"
    with tempfile.TemporaryDirectory(prefix="jenkins-kit-demo-") as tmp:
        data = yaml.safe_load(config.read_text())
        data.pop("metallb", None)
        demo_cfg = Path(tmp) / "jenkins-kit.yaml"
        demo_cfg.write_text(
            "# The sample lab (examples/lab/jenkins-kit.yaml) without its metallb: section, for the local demo.\n"
            + yaml.safe_dump(data, sort_keys=False)
        )
        print("starting the local control plane (real etcd/kube-apiserver/controller-manager/scheduler, no kubelet) ...", flush=True)
        cluster = LabCluster.start(state_dir=Path(tmp) / "cluster")
        try:
            env = cluster.env()
            env["JENKINS_KIT_HELM"] = str(cluster.helm)
            for k in ("JENKINS_URL", "JENKINS_USER_ID", "JENKINS_API_TOKEN"):
                env.pop(k, None)
            cfg = ["--config", str(demo_cfg)]
            print(f"cluster at {cluster.server}; nodes m-k8s (control plane, tainted), w1-k8s, w2-k8s, w3-k8s")
            print(f"chart: {chart.relative_to(root)} - a TEST STAND-IN for the official jenkins chart (which needs the network)\n")

            print("-- doctor (cluster checks; the lab's NFS/registry addresses are not probed from here)")
            _kit(root, env, "doctor", *cfg, "--skip", "nfs", "--skip", "registry", "--skip", "jenkins", ok=(0, 1))
            print("\n-- plan (server-side dry-run diffs, helm template vs the live release)")
            _kit(root, env, "plan", *cfg, "--chart", str(chart), "--no-jobs")
            print("\n-- up (no kubelet here: placement is verified, readiness is not awaited)")
            _kit(root, env, "up", *cfg, "--chart", str(chart), "--no-wait", "--no-jobs")
            print("\n-- up again: nothing to change")
            _kit(root, env, "up", *cfg, "--chart", str(chart), "--no-wait", "--no-jobs")
            print("\n-- plan after up (must be empty: exit 0 with --detailed-exitcode)")
            _kit(root, env, "plan", *cfg, "--chart", str(chart), "--no-jobs", "--detailed-exitcode")
            print("\n-- down: uninstall, keep PV/PVC/Secrets and the NFS data")
            _kit(root, env, "down", *cfg)
            cluster.force_delete_pods(data.get("cluster", {}).get("namespace", "jenkins"))  # what a kubelet would finish
            print("\n-- down --purge --yes: remove what up created (only that)")
            _kit(root, env, "down", *cfg, "--purge", "--yes")
        finally:
            cluster.stop()
            print("local control plane stopped", flush=True)


if __name__ == "__main__":
    repo = Path(__file__).resolve().parent.parent
    run_cluster_demo(repo, Path(os.environ.get("JENKINS_KIT_CONFIG", repo / "examples" / "lab" / "jenkins-kit.yaml")))
