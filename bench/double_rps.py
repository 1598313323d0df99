"""Requests per second the Jenkins test double serves on loopback.

Usage: python bench/double_rps.py [--requests N] [--threads T] [--path PATH] [--jobs J]

Starts a double, optionally creates J jobs spread over folders, then T client threads (each one
keep-alive ``requests.Session`` with API-token auth) issue N GETs in total against PATH (default
``/api/json``).  Prints the rate and exits non-zero if it is under the 500 req/s target.

By default the double runs in this process, so it shares one GIL with the clients (a
conservative figure).  ``--subprocess`` runs it as ``python -m tests.jenkins_double`` pinned to
one CPU (clients pinned to another when the machine has two), which measures the double alone on
one core.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests

from tests.jenkins_double import JenkinsDouble

TARGET = 500.0
JOB = ("<flow-definition><definition class='org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition'>"
       "<script>stage('a') {}</script><sandbox>true</sandbox></definition></flow-definition>")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--path", default="/api/json")
    ap.add_argument("--jobs", type=int, default=0, help="create this many jobs in folders of 20 first")
    ap.add_argument("--subprocess", action="store_true", help="run the double in its own process on one core")
    a = ap.parse_args(argv)

    with (_subprocess_double() if a.subprocess else JenkinsDouble(token="bench-token", quiet_period=0)) as d:
        s = requests.Session()
        s.auth = (d.user, d.token)
        for i in range(a.jobs):
            folder = f"folder{i // 20}"
            if i % 20 == 0:
                s.post(d.url + f"createItem?name={folder}", data="<com.cloudbees.hudson.plugins.folder.Folder/>",
                       headers={"Content-Type": "text/xml"}).raise_for_status()
            s.post(d.url + f"job/{folder}/createItem?name=job{i}", data=JOB,
                   headers={"Content-Type": "text/xml"}).raise_for_status()
        url = d.url.rstrip("/") + a.path
        per = a.requests // a.threads
        errors = []

        def worker():
            ws = requests.Session()
            ws.auth = (d.user, d.token)
            ws.get(url).raise_for_status()  # connect + warm up outside the timed loop
            barrier.wait()
            for _ in range(per):
                r = ws.get(url)
                if r.status_code != 200:
                    errors.append(r.status_code)

        barrier = threading.Barrier(a.threads + 1)
        threads = [threading.Thread(target=worker) for _ in range(a.threads)]
        for t in threads:
            t.start()
        barrier.wait()
        cpu0 = _cpu_seconds(getattr(d, "pid", None))
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu = _cpu_seconds(getattr(d, "pid", None)) - cpu0 if cpu0 is not None else None
        total = per * a.threads
        rps = total / elapsed
        where = "own process, 1 core" if a.subprocess else "in-process, shared GIL"
        print(f"jenkins double ({where}): {total} GET {a.path} over {a.threads} keep-alive connections "
              f"in {elapsed:.2f} s -> {rps:.0f} req/s (target >= {TARGET:.0f}); errors: {len(errors)}"
              + (f"; {a.jobs} jobs" if a.jobs else ""))
        if cpu:
            # CPU time the double's process spent: independent of how busy the machine is
            print(f"double process CPU: {1e6 * cpu / total:.0f} us/request -> {total / cpu:.0f} req/s per core")
        return 0 if rps >= TARGET and not errors else 1


class _Remote:
    user = "admin"
    token = "bench-token"

    def __init__(self, url, pid):
        self.url = url
        self.pid = pid


def _cpu_seconds(pid):
    """utime + stime of a process from /proc (Linux), or None."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def _subprocess_double():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, BENCH_TOKEN="bench-token")
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    p = subprocess.Popen([sys.executable, "-m", "tests.jenkins_double", "--token-env", "BENCH_TOKEN",
                          "--quiet-period", "0"], cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    try:
        if cpus:
            os.sched_setaffinity(p.pid, {cpus[0]})
            if len(cpus) > 1:
                os.sched_setaffinity(0, set(cpus[1:]))
        line = p.stdout.readline().strip()
        if not line.startswith("READY "):
            raise SystemExit(f"double did not start: {line!r}")
        yield _Remote(line.split(" ", 1)[1], p.pid)
    finally:
        p.terminate()
        p.wait(10)


if __name__ == "__main__":
    sys.exit(main())
