"""The cluster part of the README's first command (called by scripts/demo.py when the control-plane
binaries are built): doctor, plan, up, up again, plan, down, down --purge on the sample lab, against
the local control plane of tests/cluster, with the official charts.

What is real and what stands in, said plainly on screen:
- real: the Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler), kwok as
  the node agent of m-k8s and w1..w3-k8s (pods become Running/Ready without containers), the
  official jenkins and metallb charts (../shared/charts, or the chart cache scripts/setup fills),
  and the MetalLB controller, which assigns the Jenkins Service its address;
- changed for loopback: the sample's MetalLB range and fixed IP (192.168.1.x, the user's LAN) are
  replaced by 127.0.0.240-250 / 127.0.0.241; the NFS server and registry addresses are only written
  into objects, never contacted (nothing mounts the volume, nothing pulls).
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
    from jenkins_kit.kube.helm import resolve_chart  # noqa: PLC0415
    from tests.cluster.harness import LabCluster  # noqa: PLC0415 - the harness lives with the tests

    shared = root.parent / "shared" / "charts"
    charts = []
    for name, version in (("jenkins", "5.9.53"), ("metallb", "0.15.2")):
        ref = resolve_chart(name, version, "")
        path = Path(ref.chart) if ref.local else shared / f"{name}-{version}.tgz"
        if not path.is_file():
            print(f"skipped: the official {name} chart {version} is not available offline "
                  f"(no {shared}/{name}-{version}.tgz and no cached copy; scripts/setup caches it from ../shared/charts)")
            return
        charts.append(path)
    chart, metallb_chart = charts
    with tempfile.TemporaryDirectory(prefix="jenkins-kit-demo-") as tmp:
        data = yaml.safe_load(config.read_text())
        data.setdefault("metallb", {})["addresses"] = ["127.0.0.240-127.0.0.250"]
        data.setdefault("jenkins", {}).setdefault("service", {})["load_balancer_ip"] = "127.0.0.241"
        demo_cfg = Path(tmp) / "jenkins-kit.yaml"
        demo_cfg.write_text(
            "# The sample lab (examples/lab/jenkins-kit.yaml) with its MetalLB range moved to loopback, for the local demo.\n"
            + yaml.safe_dump(data, sort_keys=False)
        )
        print("starting the local control plane (real etcd/kube-apiserver/controller-manager/scheduler, kwok as node agent) ...",
              flush=True)
        cluster = LabCluster.start(state_dir=Path(tmp) / "cluster")
        try:
            mns = (data.get("metallb") or {}).get("namespace") or "metallb-system"
            cluster.start_metallb_controller(mns)
            env = cluster.env()
            env["JENKINS_KIT_HELM"] = str(cluster.helm)
            for k in ("JENKINS_URL", "JENKINS_USER_ID", "JENKINS_API_TOKEN"):
                env.pop(k, None)
            cfg = ["--config", str(demo_cfg)]
            print(f"cluster at {cluster.server}; nodes m-k8s (control plane, tainted), w1-k8s, w2-k8s, w3-k8s")
            print(f"charts: {chart} and {metallb_chart} (official, offline copies)")
            print("MetalLB range moved to loopback for this demo: 127.0.0.240-127.0.0.250, Jenkins at 127.0.0.241\n")
            charts_args = ["--chart", str(chart), "--metallb-chart", str(metallb_chart)]

            print("-- doctor (cluster checks; the lab's NFS/registry addresses are not probed from here)")
            _kit(root, env, "doctor", *cfg, "--skip", "nfs", "--skip", "registry", "--skip", "jenkins", ok=(0, 1))
            print("\n-- plan (server-side dry-run diffs, helm template vs the live release)")
            _kit(root, env, "plan", *cfg, *charts_args, "--no-jobs")
            print("\n-- up (waits for the controller pod to be Ready and for its LoadBalancer address)")
            _kit(root, env, "up", *cfg, *charts_args, "--no-jobs", "--timeout", "180")
            print("\n-- up again: nothing to change")
            _kit(root, env, "up", *cfg, *charts_args, "--no-jobs", "--timeout", "60")
            print("\n-- plan after up (must be empty: exit 0 with --detailed-exitcode)")
            _kit(root, env, "plan", *cfg, *charts_args, "--no-jobs", "--detailed-exitcode")
            print("\n-- down: uninstall, keep PV/PVC/Secrets and the NFS data")
            _kit(root, env, "down", *cfg)
            print("\n-- down --purge --yes: remove what up created (only that)")
            _kit(root, env, "down", *cfg, "--purge", "--yes")
        finally:
            cluster.stop()
            print("local control plane stopped", flush=True)


if __name__ == "__main__":
    repo = Path(__file__).resolve().parent.parent
    run_cluster_demo(repo, Path(os.environ.get("JENKINS_KIT_CONFIG", repo / "examples" / "lab" / "jenkins-kit.yaml")))
