"""The README's first command: jenkins-kit's main job on the sample lab, each step labelled.

1. validate the sample config and render the whole bootstrap bundle (offline);
2. jobs: plan, apply, plan again, then trigger a job and follow it to its result — against the
   Jenkins named by JENKINS_URL, or else against a local Jenkins TEST DOUBLE (clearly labelled);
3. cluster: `jenkins-kit up` on the local kubelet-less control plane, when its binaries are built.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "lab" / "jenkins-kit.yaml"
OUT = Path(os.environ.get("JENKINS_KIT_DEMO_OUT", ROOT / "out" / "lab-bundle"))


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def kit(*args: str, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> int:
    print("$ jenkins-kit " + " ".join(args), flush=True)
    rc = subprocess.call([sys.executable, "-m", "jenkins_kit", *args], cwd=ROOT, env=env)
    if rc not in ok:
        raise SystemExit(f"demo: 'jenkins-kit {args[0]}' exited {rc}")
    return rc


def render() -> None:
    step("1. validate the sample lab config")
    kit("config", "validate", "--config", str(CONFIG))
    step(f"2. render the bootstrap bundle into {OUT}")
    kit("render", "--config", str(CONFIG), "--out", str(OUT))
    print(f"\nBundle written to {OUT}:")
    for sub, what in [
        ("k8s", "Kubernetes manifests (kubectl apply -f)"),
        ("helm/values.yaml", "values for the official jenkins chart"),
        ("jcasc", "Configuration-as-Code fragments"),
        ("jobs", "job config.xml + Jenkinsfile per repository"),
        ("nfs", "the /etc/exports line and a script for the NFS host"),
    ]:
        print(f"  {OUT / sub}  - {what}")


class _Double:
    """A local Jenkins test double (tests/jenkins_double), for when no real Jenkins is given."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.jenkins_double", "--user", env["JENKINS_USER_ID"],
             "--token-env", "JENKINS_API_TOKEN", "--quiet-period", "0", "--build-duration-ms", "1500"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            self.proc.kill()
            raise SystemExit("demo: the Jenkins test double did not start")
        self.url = line.split(" ", 1)[1]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def jobs_and_build() -> None:
    env = dict(os.environ)
    double = None
    if env.get("JENKINS_URL"):
        step(f"3. jobs against the Jenkins at JENKINS_URL={env['JENKINS_URL']}")
    else:
        env["JENKINS_USER_ID"] = "admin"
        env["JENKINS_API_TOKEN"] = secrets.token_hex(16)  # in the environment only, never in argv
        double = _Double(env)
        env["JENKINS_URL"] = double.url
        step(f"3. jobs against a local Jenkins TEST DOUBLE at {double.url} "
             "(a stand-in for the demo, not a real Jenkins; set JENKINS_URL to use yours)")
    try:
        print("\n-- plan before apply (exit 2 = changes pending)")
        kit("jobs", "plan", "--config", str(CONFIG), "--detailed-exitcode", env=env, ok=(0, 2))
        print("\n-- apply")
        kit("jobs", "apply", "--config", str(CONFIG), env=env)
        print("\n-- plan after apply (must be clean)")
        kit("jobs", "plan", "--config", str(CONFIG), "--detailed-exitcode", env=env)
        step("4. trigger the sample job and follow it to its result (exit status = build result)")
        kit("build", "echo-buildtime", "-s", "-v", "--config", str(CONFIG), env=env)
    finally:
        if double is not None:
            double.stop()


def cluster() -> None:
    step("5. cluster: jenkins-kit up on the local control plane")
    if os.environ.get("JENKINS_KIT_DEMO_CLUSTER", "1") == "0":
        print("skipped: JENKINS_KIT_DEMO_CLUSTER=0")
        return
    have = subprocess.run([str(ROOT / "scripts" / "build-tools"), "--check"], cwd=ROOT, capture_output=True, text=True)
    if have.returncode != 0:
        print("skipped: the control-plane binaries are not built (run scripts/build-tools, ~10 min cold, "
              "or scripts/test, which builds them)")
        return
    from demo_cluster import run_cluster_demo  # noqa: PLC0415 - only when the harness is there

    run_cluster_demo(ROOT, CONFIG)


def main() -> int:
    sys.path.insert(0, str(ROOT / "scripts"))
    render()
    jobs_and_build()
    cluster()
    print("\ndemo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
