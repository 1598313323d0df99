#!/usr/bin/env python3
"""`jenkins-kit backup` vs plain `tar -czf` of the same Jenkins home, as whole commands.

    python bench/backup_vs_tar.py                  # a 200 MB home, 5 alternated runs each
    python bench/backup_vs_tar.py --mb 20 --runs 3 --json

The home is synthetic but shaped like a real one: thousands of small build.xml/config.xml files,
build logs (text with timestamps and hashes, so they compress like real logs), plugins (.jpi are
zips: incompressible) and a few large logs. Both commands run as the user runs them, in their own
process, page cache warm (one untimed run of each first), alternated, medians:

  jenkins-kit   python -m jenkins_kit backup --home H --dest D --json  (quiesces the Jenkins double
                over loopback, reads the tree once, sha256 + manifest, gzip level 6, fsync, rename)
  tar           tar -czf OUT -C PARENT home                            (GNU tar piping to gzip -6)

The floor is the time to deflate the tree's bytes once at level 6 in memory on one core
(zlib, data already read): neither command can beat it without using more cores or a faster codec.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_home(home: Path, mb: int, seed: int = 1) -> tuple[int, int]:
    """Fill `home` with about `mb` MB; returns (files, bytes)."""
    rnd = random.Random(seed)
    target = mb * 1024 * 1024
    total = files = 0

    def put(rel: str, data: bytes) -> None:
        nonlocal total, files
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        total += len(data)
        files += 1

    def log(n_lines: int, build: int) -> bytes:
        t = 1_700_000_000 + build * 60
        out = []
        for i in range(n_lines):
            h = hashlib.sha1(f"{build}:{i}".encode()).hexdigest()[: rnd.choice((7, 12, 40))]
            step = rnd.choice(("[Pipeline] sh", "+ make test", "Cloning repository", "Fetching upstream changes",
                               "ok   github.com/org/app/pkg", "PASS", "Downloading", "#12 [build 3/7] RUN go build"))
            out.append(f"{time.strftime('%H:%M:%S', time.gmtime(t + i))} {step} {h} {rnd.randint(0, 99999)}\n")
        return "".join(out).encode()

    put("config.xml", b"<?xml version='1.1' encoding='UTF-8'?>\n<hudson><version>2.492.3</version></hudson>\n")
    put("secrets/master.key", os.urandom(256).hex().encode())
    for i in range(60):  # plugins: a fifth of the bytes, incompressible
        put(f"plugins/plugin-{i:02d}.jpi", os.urandom(max(1, target // 5 // 60)))
    job = 0
    while total < target:
        job += 1
        jdir = f"jobs/team-{job % 20:02d}/jobs/app-{job:04d}"
        put(f"{jdir}/config.xml", f"<flow-definition><description>app {job}</description></flow-definition>\n".encode() * 20)
        put(f"{jdir}/nextBuildNumber", b"21\n")
        for b in range(1, 21):
            put(f"{jdir}/builds/{b}/build.xml", f"<run><number>{b}</number><result>SUCCESS</result></run>\n".encode() * 30)
            put(f"{jdir}/builds/{b}/log", log(rnd.randint(50, 400) if b % 10 else 4000, job * 100 + b))
        os.symlink("20", home / jdir / "builds" / "lastSuccessfulBuild")
        if total >= target:
            break
    return files, total


def floor_seconds(home: Path) -> float:
    data = []
    for dirpath, _, names in os.walk(home):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            if not os.path.islink(p):
                data.append(Path(p).read_bytes())
    t0 = time.perf_counter()
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    for d in data:
        c.compress(d)
    c.flush()
    return time.perf_counter() - t0


def run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr[-2000:]}")
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if shutil.which("tar") is None or shutil.which("gzip") is None:
        raise SystemExit("GNU tar and gzip are needed for the comparison")

    from bench.sync_cli_vs_jjb import ProcessDouble  # the Jenkins double in its own process

    work = Path(tempfile.mkdtemp(prefix="jk-backup-bench-"))
    d = ProcessDouble(0)
    try:
        home = work / "home"
        files, size = make_home(home, a.mb)
        dest = work / "backups"
        tar_out = work / "plain.tar.gz"
        env = dict(os.environ, JENKINS_URL=d.url, JENKINS_USER_ID=d.user, JENKINS_API_TOKEN=d.token)
        kit_cmd = [sys.executable, "-m", "jenkins_kit", "backup", "--home", str(home), "--dest", str(dest), "--json", "--wait", "60"]
        tar_cmd = ["tar", "-czf", str(tar_out), "-C", str(work), "home"]

        def kit() -> float:
            shutil.rmtree(dest, ignore_errors=True)
            return run(kit_cmd, env)

        def tar() -> float:
            tar_out.unlink(missing_ok=True)
            return run(tar_cmd, env)

        kit(), tar()  # warm the page cache and the interpreter's bytecode cache
        times: dict[str, list[float]] = {"kit": [], "tar": []}
        for i in range(a.runs):
            order = [("kit", kit), ("tar", tar)] if i % 2 == 0 else [("tar", tar), ("kit", kit)]
            for name, fn in order:
                times[name].append(fn())
        kit_size = next(dest.glob("jenkins-kit-backup-*.tar.gz")).stat().st_size
        tar_size = tar_out.stat().st_size
        floor = statistics.median(floor_seconds(home) for _ in range(3))
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)

    k, t = statistics.median(times["kit"]), statistics.median(times["tar"])
    result = {
        "tree": {"files": files, "bytes": size},
        "jenkins_kit": {"median_s": round(k, 3), "runs_s": [round(x, 3) for x in times["kit"]], "mb_per_s": round(size / k / 1e6, 1),
                        "archive_bytes": kit_size},
        "tar_czf": {"median_s": round(t, 3), "runs_s": [round(x, 3) for x in times["tar"]], "mb_per_s": round(size / t / 1e6, 1),
                    "archive_bytes": tar_size},
        "floor_deflate6_s": round(floor, 3),
        "ratio_to_tar": round(k / t, 3),
        "ratio_to_floor": round(k / floor, 3),
        "goal_ratio_to_tar": 1.3,
    }
    if a.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"tree: {files} files, {size / 1e6:.1f} MB ({a.runs} alternated runs each, medians)")
        print(f"  jenkins-kit backup  {k:7.2f} s  {size / k / 1e6:6.1f} MB/s  archive {kit_size / 1e6:.1f} MB")
        print(f"  tar -czf            {t:7.2f} s  {size / t / 1e6:6.1f} MB/s  archive {tar_size / 1e6:.1f} MB")
        print(f"  floor (deflate -6 of the bytes, one core, in memory)  {floor:.2f} s")
        print(f"ratio to tar -czf: {k / t:.2f}x (goal <= 1.3x); ratio to the floor: {k / floor:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
