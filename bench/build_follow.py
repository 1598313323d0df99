#!/usr/bin/env python3
"""Benchmark: HTTP requests per followed build, and the delay from "build finished on the server"
to "the follower returned" (Python API) / "the `jenkins-kit build -s` process exited" (CLI).

Runs against the in-process Jenkins double (tests/jenkins_double), so the server's end time
(`timestamp + duration` of the build) and our clock are the same clock.

    python bench/build_follow.py                    # all profiles, API and CLI
    python bench/build_follow.py --builds 10 --mode api

Profiles:
  chatty        2 s build writing 100 lines (output until the end)
  quiet-first   3 s build, silent after its first line, no history (no estimatedDuration)
  quiet-known   3 s build, silent, with history (estimatedDuration = its real duration)
  long-log      3 s build writing 20,000 lines (many chunks)
Each runs with the console followed (-v) and, for the CLI, also without it (-s only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jenkins_kit.jenkins.builds import trigger
from tests.jenkins_double import JenkinsDouble
from tests.test_builds_support import client_for, create_job, job_xml

PROFILES = {
    "chatty": {"duration_ms": 2000, "log_lines": [f"step {i}" for i in range(100)], "history": False},
    "quiet-first": {"duration_ms": 3000, "log_lines": [], "history": False},
    "quiet-known": {"duration_ms": 3000, "log_lines": [], "history": True},
    "long-log": {"duration_ms": 3000, "log_lines": [f"{i:06d} " + "x" * (i % 120) for i in range(20000)], "history": False},
}


def _end_of(client, job: str, number: int) -> float:
    info = client.get_json(f"{client.job_url_path(job)}{number}/api/json", tree="timestamp,duration,result")
    return (info["timestamp"] + info["duration"]) / 1000.0


def _count(double, job: str) -> int:
    return sum(1 for r in double.requests() if not r["path"].startswith("/__double__"))


def _fmt(xs: list[float]) -> str:
    if not xs:
        return "-"
    return f"p50 {statistics.median(xs) * 1000:6.0f} ms  max {max(xs) * 1000:6.0f} ms"


def run(args: argparse.Namespace) -> None:
    with JenkinsDouble(user="admin", quiet_period=0, executors=4, default_duration_ms=1000, executable_delay_s=0.05) as d:
        c = client_for(d)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JENKINS_")}
        env.update(JENKINS_URL=d.url, JENKINS_USER_ID=d.user, JENKINS_API_TOKEN=d.token,
                   PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
        print(f"jenkins double at {d.url}; {args.builds} builds per row\n")
        print(f"{'profile':<12} {'mode':<9} {'requests/build':>15}   finish -> return/exit delay")
        for name, prof in PROFILES.items():
            if args.profile and name not in args.profile:
                continue
            job = f"bench-{name}"
            create_job(c, job, job_xml())
            d.set_behaviour(job, duration_ms=prof["duration_ms"], log_lines=prof["log_lines"])
            if prof["history"]:
                trigger(c, job).wait(timeout=60)
            modes = []
            if args.mode in ("api", "both"):
                modes += ["api -v", "api"]
            if args.mode in ("cli", "both"):
                modes += ["cli -s -v", "cli -s"]
            for mode in modes:
                delays, reqs = [], []
                for _ in range(args.builds):
                    if not prof["history"]:
                        # keep "no history" true: a fresh job each time
                        job_i = f"{job}-{time.monotonic_ns()}"
                        create_job(c, job_i, job_xml())
                        d.set_behaviour(job_i, duration_ms=prof["duration_ms"], log_lines=prof["log_lines"])
                    else:
                        job_i = job
                    d.clear_requests()
                    if mode.startswith("api"):
                        q = trigger(c, job_i)
                        q.wait(timeout=120, on_log=(lambda b: None) if "-v" in mode else None)
                        done = time.time()
                        number = q.build.number
                    else:
                        argv = [sys.executable, "-m", "jenkins_kit", "build", job_i, *mode.split()[1:]]
                        p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/", check=False)
                        done = time.time()
                        if p.returncode != 0:
                            raise SystemExit(f"{argv}: exit {p.returncode}: {p.stderr.decode()}")
                        number = int(c.get_json(f"{c.job_url_path(job_i)}lastBuild/api/json", tree="number")["number"])
                    reqs.append(_count(d, job_i))
                    delays.append(done - _end_of(c, job_i, number))
                print(f"{name:<12} {mode:<9} {statistics.mean(reqs):>15.1f}   {_fmt(delays)}")
        print(
            "\nrequests/build: every HTTP request of one trigger + follow (job read, trigger POST, queue polls,\n"
            "build reads, progressiveText polls). Delay: from the build's end on the server (timestamp +\n"
            "duration) to the API call returning / the CLI process having exited (interpreter exit included)."
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--builds", type=int, default=5, help="builds per profile and mode (default 5)")
    ap.add_argument("--mode", choices=("api", "cli", "both"), default="both")
    ap.add_argument("--profile", action="append", choices=sorted(PROFILES), help="only these profiles (repeatable)")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
