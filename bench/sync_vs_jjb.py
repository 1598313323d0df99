#!/usr/bin/env python3
"""jenkins-kit job sync vs Jenkins Job Builder, measured in one run against the Jenkins test double.

    python bench/sync_vs_jjb.py                       # 1,000 pipeline jobs in 50 folders, 10 ms latency
    python bench/sync_vs_jjb.py --jobs 100 --folders 5  # the reduced size CI runs (tests/test_jobs_bench.py)

Each tool gets its own fresh double (a real HTTP server on loopback answering every request after
`--latency-ms`) and the same jobs: N pipeline jobs with an inline Jenkinsfile, spread over F folders.
Scenarios, each timed by wall clock with the HTTP requests the server saw:

  cold create   nothing exists yet                          (JJB: `jenkins-jobs update --workers W`, folders first)
  no-op         run again, nothing changed                  (JJB: its local md5 cache; blind to server-side edits)
  10% changed   a tenth of the jobs have a new description
  verify        jenkins-kit only: no-op with --verify (fetches every config.xml: sees UI edits)

Plus render throughput: jenkins-kit's render_jobs vs `jenkins-jobs test` (both whole-process wall
time, and jenkins-kit in-process). Prints a table and, with --json, one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.jobs import plan_jobs, sync
from jenkins_kit.jenkins.settings import JenkinsSettings
from jenkins_kit.render.jobs import render_jobs


def lab(n: int, folders: int, changed: set[int] = frozenset()) -> LabConfig:  # type: ignore[assignment]
    repos = []
    for i in range(n):
        repos.append({
            "name": f"app-{i:04d}",
            "git": f"https://git.example.com/org/app-{i:04d}.git",
            "description": f"app {i}" + (" (changed)" if i in changed else ""),
            "job": {"folder": f"team-{i % folders:02d}"},
        })
    return LabConfig.model_validate({
        "nfs": {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"},
        "registry": {"address": "192.168.1.10:8443"},
        "repositories": repos,
    })


def jjb_yaml(n: int, folders: int, changed: set[int] = frozenset()) -> tuple[str, str]:  # type: ignore[assignment]
    """The same jobs for JJB: same folders, names, descriptions and the very Jenkinsfile jenkins-kit renders."""
    fold = "".join(f"- job:\n    name: team-{f:02d}\n    project-type: folder\n" for f in range(folders))
    scripts = {j.full_name: j.jenkinsfile for j in render_jobs(lab(n, folders)) if j.jenkinsfile}
    jobs = []
    for i in range(n):
        desc = f"app {i}" + (" (changed)" if i in changed else "")
        script = scripts[f"team-{i % folders:02d}/app-{i:04d}"].replace("{", "{{").replace("}", "}}")  # JJB formats strings
        jobs.append(
            f"- job:\n    name: team-{i % folders:02d}/app-{i:04d}\n    project-type: pipeline\n"
            f"    description: {json.dumps(desc)}\n    sandbox: true\n    dsl: {json.dumps(script)}\n"
        )
    return fold, "".join(jobs)


class ProcessDouble:
    """The Jenkins double in its own process (`python -m tests.jenkins_double`), so the server never
    competes with the tool being measured for the same interpreter lock; both tools get the same."""

    def __init__(self, latency_ms: float) -> None:
        import secrets

        import requests

        self.user, self.token = "admin", secrets.token_hex(16)
        env = dict(os.environ, JK_BENCH_TOKEN=self.token)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.jenkins_double", "--user", self.user, "--token-env", "JK_BENCH_TOKEN",
             "--quiet-period", "0", "--latency-ms", str(latency_ms)],
            cwd=str(ROOT), env=env, stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        if not line.startswith("READY "):
            self.proc.kill()
            raise SystemExit(f"the Jenkins double did not start: {line!r}")
        self.url = line.split(" ", 1)[1]
        self._http = requests.Session()
        self._http.auth = (self.user, self.token)

    def requests(self) -> list[dict]:
        r = self._http.get(self.url + "__double__/requests", timeout=30)
        r.raise_for_status()
        return r.json()

    def clear_requests(self) -> None:
        self._http.delete(self.url + "__double__/requests", timeout=30).raise_for_status()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_double(latency_ms: float) -> ProcessDouble:
    return ProcessDouble(latency_ms)


def client(d: ProcessDouble) -> JenkinsClient:
    return JenkinsClient(JenkinsSettings.resolve(url=d.url, user=d.user, token=d.token, env={}, timeout=60.0))


def _cpu() -> float:
    """CPU seconds used by this process and its finished children (JJB runs as a child)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(d: ProcessDouble, fn) -> dict:
    d.clear_requests()
    t0, c0 = time.perf_counter(), _cpu()
    extra = fn() or {}
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    reqs = d.requests()
    return {"wall_s": round(wall, 3), "client_cpu_s": round(cpu, 3), "requests": len(reqs),
            "posts": sum(r["method"] == "POST" for r in reqs), **extra}


def run_kit(n: int, folders: int, workers: int, latency: float) -> dict:
    d = start_double(latency)
    out: dict[str, dict] = {}
    try:
        with client(d) as c:
            desired = render_jobs(lab(n, folders))

            def apply(jobs, verify=False):
                def go():
                    jp, rep = sync(c, jobs, verify=verify, workers=workers)
                    if rep.failures:
                        raise SystemExit(f"jenkins-kit apply failed: {rep.failures[:3]}")
                    return {"changes": len(jp.pending)}
                return go

            out["cold_create"] = measure(d, apply(desired))
            out["noop"] = measure(d, apply(desired))
            changed = set(range(0, n, 10))
            out["changed_10pct"] = measure(d, apply(render_jobs(lab(n, folders, changed))))
            out["verify"] = measure(d, apply(render_jobs(lab(n, folders, changed)), verify=True))
            # the floor for --verify: every request costs `latency`, `workers` run at once
            v = out["verify"]
            v["floor_s"] = round(v["requests"] * latency / 1000.0 / workers, 3)
            assert not plan_jobs(c, render_jobs(lab(n, folders, changed)), verify=True).pending
    finally:
        d.stop()
    return out


def run_jjb(n: int, folders: int, workers: int, latency: float, tmp: Path) -> dict:
    d = start_double(latency)
    out: dict[str, dict] = {}
    try:
        ini = tmp / "jenkins_jobs.ini"
        ini.write_text(f"[job_builder]\nignore_cache=False\n[jenkins]\nurl={d.url}\nuser={d.user}\npassword={d.token}\n"
                       "query_plugins_info=False\n")
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"), PYTHONWARNINGS="ignore")

        def update(files: list[Path]):
            def go():
                for f in files:
                    p = subprocess.run(["jenkins-jobs", "--conf", str(ini), "-l", "error", "update", "--workers", str(workers), str(f)], check=False,
                                       capture_output=True, text=True, env=env)
                    if p.returncode != 0:
                        raise SystemExit(f"jenkins-jobs update failed:\n{p.stderr[-3000:]}")
            return go

        fold, jobs = jjb_yaml(n, folders)
        (tmp / "folders.yaml").write_text(fold)
        (tmp / "jobs.yaml").write_text(jobs)
        out["cold_create"] = measure(d, update([tmp / "folders.yaml", tmp / "jobs.yaml"]))
        out["noop"] = measure(d, update([tmp / "folders.yaml", tmp / "jobs.yaml"]))
        _, jobs2 = jjb_yaml(n, folders, set(range(0, n, 10)))
        (tmp / "jobs.yaml").write_text(jobs2)
        out["changed_10pct"] = measure(d, update([tmp / "folders.yaml", tmp / "jobs.yaml"]))
    finally:
        d.stop()
    return out


def render_throughput(n: int, folders: int, tmp: Path) -> dict:
    cfg = lab(n, folders)
    render_jobs(cfg)  # warm the template cache
    reps = max(1, 2000 // n)
    t0 = time.perf_counter()
    for _ in range(reps):
        render_jobs(cfg)
    kit_inproc = (time.perf_counter() - t0) / reps
    # whole process, like `jenkins-jobs test`: our CLI renders every config.xml + Jenkinsfile to disk
    cfgfile = tmp / "lab.yaml"
    import yaml

    cfgfile.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_defaults=True)))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jenkins_kit", "jobs", "render", "-c", str(cfgfile), "--out", str(tmp / "kit-out")],
                   check=True, capture_output=True, cwd=str(ROOT))
    kit_proc = time.perf_counter() - t0
    fold, jobs = jjb_yaml(n, folders)
    (tmp / "all.yaml").write_text(fold + jobs)
    t0 = time.perf_counter()
    subprocess.run(["jenkins-jobs", "-l", "error", "test", "--config-xml", "-o", str(tmp / "jjb-out"), str(tmp / "all.yaml")],
                   check=True, capture_output=True)
    jjb_proc = time.perf_counter() - t0
    items = n + folders
    return {
        "items": items,
        "kit_inprocess_ms_per_job": round(kit_inproc * 1000 / items, 4),
        "kit_cli_ms_per_job": round(kit_proc * 1000 / items, 4),
        "jjb_test_ms_per_job": round(jjb_proc * 1000 / items, 4),
        "ratio_jjb_over_kit_cli": round(jjb_proc / kit_proc, 2),
        "ratio_jjb_over_kit_inprocess": round(jjb_proc / kit_inproc, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--folders", type=int, default=50)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    ap.add_argument("--skip-jjb", action="store_true", help="Only measure jenkins-kit.")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jk-bench-") as t:
        tmp = Path(t)
        kit = run_kit(a.jobs, a.folders, a.workers, a.latency_ms)
        jjb = None if a.skip_jjb else run_jjb(a.jobs, a.folders, a.workers, a.latency_ms, tmp)
        rend = render_throughput(a.jobs, a.folders, tmp)
    result = {"jobs": a.jobs, "folders": a.folders, "workers": a.workers, "latency_ms": a.latency_ms,
              "jenkins_kit": kit, "jjb": jjb, "render": rend, "ratios": {}}
    if jjb:
        for k in ("cold_create", "noop", "changed_10pct"):
            result["ratios"][k] = {
                "wall_kit_over_jjb": round(kit[k]["wall_s"] / jjb[k]["wall_s"], 3) if jjb[k]["wall_s"] else None,
                "speedup": round(jjb[k]["wall_s"] / kit[k]["wall_s"], 2) if kit[k]["wall_s"] else None,
                "requests_kit_over_jjb": round(kit[k]["requests"] / jjb[k]["requests"], 3) if jjb[k]["requests"] else None,
            }
    if a.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{a.jobs} pipeline jobs in {a.folders} folders, {a.workers} workers, {a.latency_ms:g} ms per request (Jenkins double)\n")
    print(f"{'scenario':<14} {'jenkins-kit':>22} {'JJB 6.5 update':>22} {'kit/JJB time':>13} {'speed-up':>9}")
    for k, label in (("cold_create", "cold create"), ("noop", "no-op"), ("changed_10pct", "10% changed"), ("verify", "verify (kit)")):
        kv = kit[k]
        ks = f"{kv['wall_s']:.2f}s {kv['requests']:>5} req"
        if jjb and k in jjb:
            jv = jjb[k]
            js = f"{jv['wall_s']:.2f}s {jv['requests']:>5} req"
            r = result["ratios"][k]
            print(f"{label:<14} {ks:>22} {js:>22} {r['wall_kit_over_jjb']:>13} {str(r['speedup']) + 'x':>9}")
        else:
            extra = f"   floor {kv['floor_s']:.2f}s ({kv['wall_s'] / kv['floor_s']:.2f}x)" if "floor_s" in kv else ""
            print(f"{label:<14} {ks:>22}{extra}")
    r = rend
    print("client CPU seconds (tool side; the double runs in its own process): "
          + ", ".join(f"{k} kit {kit[k]['client_cpu_s']:.2f}" + (f" / JJB {jjb[k]['client_cpu_s']:.2f}" if jjb and k in jjb else "")
                      for k in ("cold_create", "noop", "changed_10pct", "verify")))
    print(f"\nrender: jenkins-kit {r['kit_inprocess_ms_per_job']:.3f} ms/job in-process, {r['kit_cli_ms_per_job']:.3f} ms/job "
          f"as a CLI run; jenkins-jobs test {r['jjb_test_ms_per_job']:.3f} ms/job -> {r['ratio_jjb_over_kit_cli']}x (CLI vs CLI), "
          f"{r['ratio_jjb_over_kit_inprocess']}x (in-process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
