#!/usr/bin/env python3
"""`jenkins-kit jobs apply` vs Jenkins Job Builder, both measured as users run them: whole processes.

    python bench/sync_cli_vs_jjb.py                  # 1,000 and 10,000 jobs, flat and in folders, 10 ms, 16 workers each
    python bench/sync_cli_vs_jjb.py --workers 8      # both tools at 8 (the issue's first setting; JJB is slower there)
    python bench/sync_cli_vs_jjb.py --sizes 1000     # the 1,000-job half only
    python bench/sync_cli_vs_jjb.py --quick          # 100 jobs, one rep: what tests/test_jobs_bench.py runs

Every figure is the wall time of a whole command, interpreter start to exit (`jenkins-kit ...`,
`jenkins-jobs ...`), against the Jenkins double (tests/jenkins_double) running in its own process
with `--latency-ms` injected before every answer. Each tool gets its own fresh double per rep; in
each rep the two tools alternate A B / B A from one scenario to the next, and the table shows
medians over `--reps` (10,000-job rows: `--reps-10k`).

Jobs: N pipeline jobs with the Jenkinsfile jenkins-kit generates, in F folders or flat. JJB gets the
same jobs written as JJB users write many alike jobs, at its best: one `job-template` holding the
very same Jenkinsfile with `{name}` in it and one small `project` per repository, folders in their
own file applied first (`jenkins-jobs update` does not order folders before their jobs across its
workers), `query_plugins_info=False`, `--workers W`. The two tools' config.xml differ in layout
(JJB writes its own elements); the Jenkinsfile and the description text are the same.

Scenarios, in this order on one double:
  cold          nothing exists                         JJB: update (folders, then jobs)
  no-op         the same again                         JJB: update, answered from its local cache
  10% changed   every tenth description changed        JJB: update
  all changed   every description changed              JJB: update
  verify        no-op that reads every config.xml      JJB: update --ignore-cache (it cannot compare: re-posts all)

Workers: both tools get `--workers` (default 16). That is JJB at its best: it is CPU-bound, and
1,000 jobs in 50 folders took it 9.2 s at 8 workers, 6.4 s at 16 and 6.5 s at 32 (this machine,
2026-11-29). Where jenkins-kit's own default differs from `--workers`, it is also run at its default.

Floor: ceil(requests / workers) x latency, the time the requests take when neither the client nor
the double costs anything (a worker's requests follow one another). Printed for every row: kit /
floor and JJB / kit. For a cold create, also the floor this machine can serve: the same requests,
bodies in hand, from a bare `http.client` thread pool at the same worker count (the double's own CPU
per request, on the same two cores, is most of what is left).

Also: start-up (`--version`, `--help`), `jenkins-kit jobs render` vs `jenkins-jobs test` of the same
jobs (CLI vs CLI), the delay from a build's end on the server to `jenkins-kit build -s` having
exited (a silent build with history, so Jenkins can estimate its duration, and a chatty one
followed with -v), and peak RSS of `jobs apply` at each size.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIOS = ("cold", "noop", "changed_10pct", "changed_all", "verify")
LABELS = {"cold": "cold create", "noop": "no-op", "changed_10pct": "10% changed", "changed_all": "all changed",
          "verify": "--verify / JJB --ignore-cache"}


def _which(name: str) -> str:
    """A console script of this interpreter's environment (the venv's), else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found (pip install -e '.[test]')")
    return found


# ------------------------------------------------------------------------------------------ inputs
def _name(i: int, n: int) -> str:
    return f"app-{i:0{max(4, len(str(n - 1)))}d}"


def _desc(i: int, version: int, n: int) -> str:
    """Descriptions per scenario: v0 as created, v1 every tenth changed, v2 all changed."""
    if version == 1 and i % 10 == 0:
        return f"app {i} (changed)"
    if version == 2:
        return f"app {i} (changed again)"
    return f"app {i}"


def lab_yaml(n: int, folders: int, version: int) -> str:
    import yaml

    repos = []
    for i in range(n):
        r: dict[str, Any] = {"name": _name(i, n), "git": f"https://git.example.com/org/{_name(i, n)}.git",
                             "description": _desc(i, version, n)}
        if folders:
            r["job"] = {"folder": f"team-{i % folders:02d}"}
        repos.append(r)
    return yaml.safe_dump({"nfs": {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"},
                           "registry": {"address": "192.168.1.10:8443"}, "repositories": repos}, sort_keys=False)


def jjb_files(n: int, folders: int, version: int, jenkinsfile_of_first: str) -> tuple[str, str]:
    """(folders.yaml, jobs.yaml) for JJB: one job-template with the same Jenkinsfile, a project per repository."""
    first = _name(0, n)
    dsl = jenkinsfile_of_first.replace("{", "{{").replace("}", "}}").replace(first, "{name}")
    tmpl_name = "{folder}/{name}" if folders else "{name}"
    head = (f"- job-template:\n    name: '{tmpl_name}'\n    project-type: pipeline\n    description: '{{description}}'\n"
            "    sandbox: true\n    dsl: |\n" + "".join(f"      {line}\n" if line else "\n" for line in dsl.splitlines()))
    projects = []
    for i in range(n):
        folder = f"    folder: team-{i % folders:02d}\n" if folders else ""
        projects.append(f"- project:\n    name: {_name(i, n)}\n{folder}    description: {json.dumps(_desc(i, version, n))}\n"
                        f"    jobs: ['{tmpl_name}']\n")
    fold = "".join(f"- job:\n    name: team-{f:02d}\n    project-type: folder\n" for f in range(folders))
    return fold, head + "".join(projects)


def first_jenkinsfile(lab_text: str) -> str:
    from jenkins_kit.config.loader import load_config_text
    from jenkins_kit.render.jobs import render_jobs

    cfg = load_config_text(lab_text)
    cfg = cfg.model_copy(update={"repositories": cfg.repositories[:1]})
    return next(j.jenkinsfile for j in render_jobs(cfg) if j.jenkinsfile)


# ------------------------------------------------------------------------------------------ double
class ProcessDouble:
    """The Jenkins double in its own process, so it never shares an interpreter with a tool measured."""

    def __init__(self, latency_ms: float, *, executors: int = 2, build_ms: int = 1000) -> None:
        import requests

        self.user, self.token = "admin", secrets.token_hex(16)
        env = dict(os.environ, JK_BENCH_TOKEN=self.token)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.jenkins_double", "--user", self.user, "--token-env", "JK_BENCH_TOKEN",
             "--quiet-period", "0", "--latency-ms", str(latency_ms), "--executors", str(executors),
             "--build-duration-ms", str(build_ms)],
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
        r = self._http.get(self.url + "__double__/requests", timeout=60)
        r.raise_for_status()
        return r.json()

    def clear_requests(self) -> None:
        self._http.delete(self.url + "__double__/requests", timeout=60).raise_for_status()

    def control(self, what: str, body: dict) -> None:
        self._http.post(self.url + f"__double__/{what}", json=body, timeout=60).raise_for_status()

    def warm(self) -> None:
        """One full listing, untimed. The double's first listing after a mass create takes seconds on
        its side (10,000 jobs: 1.6 s, then 0.06 s, measured with curl), an artifact of the double: a
        real Jenkins serves listings from the items it holds in memory. Run after every scenario for
        every tool, so no timed run pays it."""
        f = "name,description,color,disabled"
        self._http.get(self.url + "api/json", params={"tree": f"jobs[{f},jobs[{f},jobs[{f}]]]"}, timeout=300).raise_for_status()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "JENKINS_KIT_"))}
        env.update(JENKINS_URL=self.url, JENKINS_USER_ID=self.user, JENKINS_API_TOKEN=self.token, PYTHONWARNINGS="ignore")
        return env

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# ------------------------------------------------------------------------------------------ running
def _hwm_kb(pid: int) -> int:
    """VmHWM: the peak resident set of the process's own memory since its exec."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_proc(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 1800) -> dict[str, Any]:
    """Run one whole command: wall time, its CPU (wait4 gives it per child) and its peak RSS.

    Peak RSS is VmHWM read from /proc every few milliseconds while it runs: wait4's ru_maxrss would
    report this (large) benchmark process's own peak, which Linux carries into a child across exec."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, cwd=str(cwd), stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = t0 + timeout
        hwm = 0
        while True:
            hwm = max(hwm, _hwm_kb(p.pid))
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        out.seek(0)
        text_err = err.read().decode("utf-8", "replace")
        text_out = out.read().decode("utf-8", "replace")
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {p.returncode}:\n{text_err[-3000:]}\n{text_out[-2000:]}")
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "rss_mb": hwm / 1024, "stdout": text_out}


# The floor of a cold create as this machine can serve it: the same createItem requests, bodies in
# hand (rendered by jenkins-kit beforehand, untimed), sent by a bare `http.client` thread pool at the
# same worker count, on kept-alive connections, to a fresh double; folders first. No retries, no
# checks, no config: what any Python client at least pays here, where the double shares the two
# cores (its own CPU per request is most of it). requests x latency / workers ignores that cost.
_BARE = """
import base64, http.client, json, os, queue, sys, threading, urllib.parse
items, workers = json.load(open(sys.argv[1], encoding="utf-8")), int(sys.argv[2])
u = urllib.parse.urlsplit(os.environ["JENKINS_URL"])
auth = "Basic " + base64.b64encode((os.environ["JENKINS_USER_ID"] + ":" + os.environ["JENKINS_API_TOKEN"]).encode()).decode()
failed = []
def run(batch):
    q = queue.SimpleQueue()
    for it in batch:
        q.put(it)
    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        while True:
            try:
                name, xml = q.get_nowait()
            except queue.Empty:
                return
            parent, _, leaf = name.rpartition("/")
            path = "".join("/job/" + urllib.parse.quote(p) for p in parent.split("/") if p) + "/createItem?name=" + urllib.parse.quote(leaf)
            conn.request("POST", path, body=xml.encode(), headers={"Authorization": auth, "Content-Type": "application/xml"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failed.append((name, r.status))
    ts = [threading.Thread(target=worker) for _ in range(min(workers, len(batch)))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
for depth in sorted({it[2] for it in items}):
    run([(n, x) for n, x, d in items if d == depth])
sys.exit(1 if failed else 0)
"""


def bare_items(lab_text: str, path: Path) -> None:
    """What a cold create sends, in the order it may be sent: (name, config.xml, wave), folders by depth, then jobs."""
    from jenkins_kit.config.loader import load_config_text
    from jenkins_kit.render.jobs import render_jobs

    jobs = render_jobs(load_config_text(lab_text))
    top = max((j.full_name.count("/") for j in jobs if j.kind == "folder"), default=-1) + 1
    path.write_text(json.dumps([(j.full_name, j.config_xml, j.full_name.count("/") if j.kind == "folder" else top) for j in jobs]))


class Tool:
    """One tool's side of a sync comparison: its double, its files, its commands per scenario."""

    def __init__(self, kind: str, n: int, folders: int, workers: int | None, latency: float, tmp: Path) -> None:
        self.kind, self.n, self.folders, self.workers = kind, n, folders, workers  # None: the tool's default
        self.dir = tmp / kind
        self.dir.mkdir(parents=True, exist_ok=True)
        self.double = ProcessDouble(latency)
        self.env = self.double.env()
        if kind == "jjb":
            self.env["XDG_CACHE_HOME"] = str(self.dir / "cache")
            (self.dir / "jenkins_jobs.ini").write_text(
                f"[job_builder]\nignore_cache=False\n[jenkins]\nurl={self.double.url}\nuser={self.double.user}\n"
                f"password={self.double.token}\nquery_plugins_info=False\n")

    def write(self, version: int, lab_text: str, jjb: tuple[str, str]) -> None:
        if self.kind == "bare":
            if not (self.dir / "items.json").exists():
                bare_items(lab_text, self.dir / "items.json")
        elif self.kind.startswith("kit"):
            (self.dir / "lab.yaml").write_text(lab_text)
        else:
            (self.dir / "folders.yaml").write_text(jjb[0])
            (self.dir / "jobs.yaml").write_text(jjb[1])

    def commands(self, scenario: str) -> list[list[str]]:
        if self.kind == "bare":
            return [[sys.executable, "-c", _BARE, str(self.dir / "items.json"), str(self.workers)]] if scenario == "cold" else []
        if self.kind.startswith("kit"):
            argv = [_which("jenkins-kit"), "jobs", "apply", "-c", str(self.dir / "lab.yaml")]
            argv += ["--workers", str(self.workers)] if self.workers else []
            return [argv + (["--verify"] if scenario == "verify" else [])]
        base = [_which("jenkins-jobs"), "--conf", str(self.dir / "jenkins_jobs.ini"), "-l", "error"]
        base += ["--ignore-cache"] if scenario == "verify" else []
        upd = ["update", "--workers", str(self.workers)]
        files = ([self.dir / "folders.yaml"] if self.folders else []) + [self.dir / "jobs.yaml"]
        return [base + upd + [str(f)] for f in files]

    def run(self, scenario: str) -> dict[str, Any]:
        self.double.clear_requests()
        total: dict[str, Any] = {"wall_s": 0.0, "cpu_s": 0.0, "rss_mb": 0.0}
        for argv in self.commands(scenario):
            r = run_proc(argv, self.env, self.dir)
            total["wall_s"] += r["wall_s"]
            total["cpu_s"] += r["cpu_s"]
            total["rss_mb"] = max(total["rss_mb"], r["rss_mb"])
        reqs = self.double.requests()
        total["requests"] = len(reqs)
        total["posts"] = sum(q["method"] == "POST" for q in reqs)
        return total

    def stop(self) -> None:
        self.double.stop()


def sync_suite(n: int, folders: int, workers: int, latency: float, reps: int, tmp: Path, jjb: bool,
               log: Any, kit_default: bool = False, scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Any]:
    from jenkins_kit.config.schema import Jobs

    default_workers = Jobs().workers
    labs = {v: lab_yaml(n, folders, v) for v in (0, 1, 2)}
    jf = first_jenkinsfile(labs[0])
    jjbs = {v: jjb_files(n, folders, v, jf) for v in (0, 1, 2)}
    version = {"cold": 0, "noop": 0, "changed_10pct": 1, "changed_all": 2, "verify": 2}
    runs: dict[str, dict[str, list[dict]]] = {s: {"kit": [], "jjb": [], "kitdef": [], "bare": []} for s in SCENARIOS}
    for rep in range(reps):
        tools = [Tool("kit", n, folders, workers, latency, tmp / f"r{rep}")]
        if jjb:
            tools.append(Tool("jjb", n, folders, workers, latency, tmp / f"r{rep}"))
        if kit_default:
            tools.append(Tool("kitdef", n, folders, None, latency, tmp / f"r{rep}"))
        if "cold" in scenarios:
            tools.append(Tool("bare", n, folders, workers, latency, tmp / f"r{rep}"))
        try:
            for k, s in enumerate(scenarios):
                order = tools if (rep + k) % 2 == 0 else tools[::-1]  # A B / B A (and C)
                for t in order:
                    if t.kind == "bare" and s != "cold":
                        continue
                    t.write(version[s], labs[version[s]], jjbs[version[s]])
                    r = t.run(s)
                    t.double.warm()
                    runs[s][t.kind].append(r)
                    log(f"  rep {rep + 1}/{reps} {s:<14} {t.kind:<6} {r['wall_s']:7.2f} s {r['requests']:6d} req "
                        f"cpu {r['cpu_s']:6.2f} s rss {r['rss_mb']:6.0f} MB")
        finally:
            for t in tools:
                t.stop()
    out: dict[str, Any] = {"jobs": n, "folders": folders, "items": n + folders, "reps": reps, "scenarios": {}}
    for s in scenarios:
        row: dict[str, Any] = {}
        for kind in ("kit", "jjb", "kitdef", "bare"):
            rs = runs[s][kind]
            if not rs:
                continue
            row[kind] = {k: round(statistics.median(r[k] for r in rs), 3) for k in ("wall_s", "cpu_s", "rss_mb")}
            row[kind]["requests"] = int(statistics.median(r["requests"] for r in rs))
            row[kind]["posts"] = int(statistics.median(r["posts"] for r in rs))
            row[kind]["runs_s"] = [round(r["wall_s"], 3) for r in rs]
        kit = row["kit"]
        row["floor_s"] = round(-(-kit["requests"] // workers) * latency / 1000.0, 3)  # each worker's requests follow one another
        row["kit_over_floor"] = round(kit["wall_s"] / row["floor_s"], 2) if row["floor_s"] else None
        if "jjb" in row:
            row["jjb_over_kit"] = round(row["jjb"]["wall_s"] / kit["wall_s"], 2)
        if "bare" in row:
            row["kit_over_bare"] = round(kit["wall_s"] / row["bare"]["wall_s"], 2)
        if "kitdef" in row:
            kd = row["kitdef"]
            row["kitdef_floor_s"] = round(-(-kd["requests"] // default_workers) * latency / 1000.0, 3)
            row["kitdef_over_floor"] = round(kd["wall_s"] / row["kitdef_floor_s"], 2)
            if "jjb" in row:
                row["jjb_over_kitdef"] = round(row["jjb"]["wall_s"] / kd["wall_s"], 2)
        out["scenarios"][s] = row
    out["kit_peak_rss_mb"] = max(r["rss_mb"] for s in scenarios for r in runs[s]["kit"] + runs[s]["kitdef"])
    out["kit_default_workers"] = default_workers if kit_default else None
    return out


# ------------------------------------------------------------------------------------------ other sections
def startup(reps: int, log: Any) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JENKINS_")}
    cases = {"--version": ([_which("jenkins-kit"), "--version"], [_which("jenkins-jobs"), "--version"]),
             "--help": ([_which("jenkins-kit"), "--help"], [_which("jenkins-jobs"), "--help"])}
    out = {}
    for name, (kit, jjb) in cases.items():
        k, j = [], []
        for rep in range(reps):
            for who in (("kit", "jjb") if rep % 2 == 0 else ("jjb", "kit")):
                (k if who == "kit" else j).append(run_proc(kit if who == "kit" else jjb, env, ROOT)["wall_s"])
        out[name] = {"kit_s": round(statistics.median(k), 3), "jjb_s": round(statistics.median(j), 3)}
        out[name]["jjb_over_kit"] = round(out[name]["jjb_s"] / out[name]["kit_s"], 2)
        log(f"  {name}: kit {out[name]['kit_s']:.3f} s, JJB {out[name]['jjb_s']:.3f} s")
    return out


# The physical floor of a render: the interpreter starting and the same folders and files created with
# plain os calls on both cores, texts already in hand (read from a JSON file first, not timed apart: that is part of
# any process that has texts to write). On a disk that is where most of the time goes here: on this
# VM's ext4 each new inode costs 0.2-0.9 ms of kernel time, varying from one minute to the next.
_FLOOR = """
import json, os, sys
files = list(json.loads(open(sys.argv[1], encoding="utf-8").read()).items())
out = sys.argv[2]
half = len(files) // 2
pid = os.fork() if hasattr(os, "fork") else -1  # both cores make system calls, as jenkins-kit's writer does
for rel, text in (files[half:] if pid == 0 else files[:half] if pid > 0 else files):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
if pid == 0:
    os._exit(0)
if pid > 0:
    os.waitpid(pid, 0)
"""


def render_cmp(n: int, folders: int, reps: int, tmp: Path, log: Any) -> dict[str, Any]:
    """`jenkins-kit jobs render` vs `jenkins-jobs test --config-xml -o` of the same jobs, CLI vs CLI.

    Both write one folder per job (jenkins-kit two files: config.xml and the Jenkinsfile; JJB one).
    Run twice: to the disk beside the inputs, as users run it, and to a tmpfs (/dev/shm) when there
    is one, where what is left is the tools' own cost (on a busy virtual disk, creating 2,000 files
    can take longer than rendering them)."""
    d = tmp / "render"
    d.mkdir(parents=True, exist_ok=True)
    lab = lab_yaml(n, folders, 0)
    (d / "lab.yaml").write_text(lab)
    fold, jobs = jjb_files(n, folders, 0, first_jenkinsfile(lab))
    (d / "all.yaml").write_text(fold + jobs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JENKINS_")}
    targets = {"disk": d}
    if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
        targets["tmpfs"] = Path(tempfile.mkdtemp(prefix="jk-bench-render-", dir="/dev/shm"))
    res: dict[str, Any] = {"jobs": n, "folders": folders}
    try:
        for where, base in targets.items():
            k: list[dict] = []
            e: list[dict] = []
            j: list[dict] = []
            f: list[dict] = []
            tree = d / "tree.json"  # what the floor writes: the files of a jenkins-kit render, read back
            for rep in range(reps):
                for who in (("kit", "edited", "jjb", "floor") if rep % 2 == 0 else ("floor", "jjb", "edited", "kit")):
                    out = base / f"{who}-{rep}"
                    if who == "edited":  # the first run after an edit of lab.yaml: no cached config to start from
                        e.append(run_proc([_which("jenkins-kit"), "jobs", "render", "-c", str(d / "lab.yaml"), "--out", str(out)],
                                          dict(env, JENKINS_KIT_NO_CONFIG_CACHE="1"), d))
                    elif who == "kit":
                        k.append(run_proc([_which("jenkins-kit"), "jobs", "render", "-c", str(d / "lab.yaml"), "--out", str(out)], env, d))
                        if not tree.exists():
                            tree.write_text(json.dumps({str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}))
                    elif who == "jjb":
                        j.append(run_proc([_which("jenkins-jobs"), "-l", "error", "test", "--config-xml", "-o", str(out),
                                           str(d / "all.yaml")], env, d))
                    elif tree.exists():
                        f.append(run_proc([sys.executable, "-c", _FLOOR, str(tree), str(out)], env, d))
                    shutil.rmtree(out, ignore_errors=True)
            r = {"kit_s": round(statistics.median(x["wall_s"] for x in k), 3), "jjb_s": round(statistics.median(x["wall_s"] for x in j), 3),
                 "kit_cpu_s": round(statistics.median(x["cpu_s"] for x in k), 3), "jjb_cpu_s": round(statistics.median(x["cpu_s"] for x in j), 3),
                 "floor_s": round(statistics.median(x["wall_s"] for x in f), 3),
                 "edited_s": round(statistics.median(x["wall_s"] for x in e), 3)}
            r["jjb_over_kit"] = round(r["jjb_s"] / r["kit_s"], 2)
            r["jjb_over_edited"] = round(r["jjb_s"] / r["edited_s"], 2)
            r["kit_over_floor"] = round(r["kit_s"] / r["floor_s"], 2)
            res[where] = r
            log(f"  render {n} jobs to {where}: kit {r['kit_s']:.2f} s (cpu {r['kit_cpu_s']:.2f}), "
                f"jenkins-jobs test {r['jjb_s']:.2f} s (cpu {r['jjb_cpu_s']:.2f}), floor {r['floor_s']:.2f} s")
    finally:
        if "tmpfs" in targets:
            shutil.rmtree(targets["tmpfs"], ignore_errors=True)
    return res


def _follow_one(d: ProcessDouble, argv: list[str], duration_s: float) -> dict[str, float]:
    """Run `jenkins-kit build ... -s` and watch it: the request rate in the quiet middle of the build
    (from 0.5 s after it starts to 0.3 s before its end, read from the double's request log through
    its control API, which is not logged) and the moment the process has exited."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, env=d.env(), cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        t_start = t1 = t2 = None
        n1 = n2 = 0
        deadline = time.time() + 300
        while True:
            pid, status, _ = os.wait4(p.pid, os.WNOHANG)
            now = time.time()
            if pid:
                break
            if now > deadline:
                p.kill()
                raise SystemExit(f"{argv} did not finish")
            if t_start is None:
                r = d._http.get(d.url + "__double__/state", timeout=30)
                if r.json().get("running"):
                    t_start = now
            elif t1 is None and now >= t_start + 0.5:
                n1, t1 = len(d.requests()), time.time()
            elif t1 is not None and t2 is None and now >= t_start + duration_s - 0.3:
                n2, t2 = len(d.requests()), time.time()
            time.sleep(0.002 if t2 is not None else 0.01)
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{argv} exited {os.waitstatus_to_exitcode(status)}: {err.read().decode()[-2000:]}")
    quiet = (n2 - n1) / (t2 - t1) if t1 is not None and t2 is not None and t2 > t1 else float("nan")
    return {"done": now, "quiet_rate": quiet}


def builds(duration_ms: int, reps: int, latency: float, log: Any) -> dict[str, Any]:
    """build end -> process exit, for a silent build with history and a chatty one followed with -v."""
    from jenkins_kit.jenkins.builds import trigger
    from jenkins_kit.jenkins.client import JenkinsClient
    from jenkins_kit.jenkins.settings import JenkinsSettings
    from tests.test_builds_support import job_xml

    d = ProcessDouble(latency, executors=4, build_ms=duration_ms)
    out: dict[str, Any] = {"duration_ms": duration_ms}
    try:
        c = JenkinsClient(JenkinsSettings.resolve(url=d.url, user=d.user, token=d.token, env={}, timeout=60.0))
        profiles = {"silent": ([], ["-s"]), "chatty": ([f"step {i}" for i in range(100)], ["-s", "-v"])}
        for name, (lines, flags) in profiles.items():
            job = f"bench-{name}"
            c.post_xml("createItem", job_xml(), params={"name": job})
            d.control("behaviour", {"job": job, "duration_ms": duration_ms, "log_lines": lines})
            trigger(c, job).wait(timeout=120)  # history: Jenkins can now estimate the duration
            delays, rates, counts = [], [], []
            for _ in range(reps):
                d.clear_requests()
                r = _follow_one(d, [_which("jenkins-kit"), "build", job, *flags], duration_ms / 1000.0)
                info = c.get_json(f"{c.job_url_path(job)}lastBuild/api/json", tree="timestamp,duration")
                end = (info["timestamp"] + info["duration"]) / 1000.0
                counts.append(len([q for q in d.requests() if not q["path"].startswith("/__double__")]) - 1)  # minus our lastBuild read
                rates.append(r["quiet_rate"])
                delays.append(r["done"] - end)
            out[name] = {"end_to_exit_s": round(statistics.median(delays), 3), "max_s": round(max(delays), 3),
                         "requests": int(statistics.median(counts)), "quiet_requests_per_s": round(statistics.median(rates), 2)}
            log(f"  build {name}: end -> exit {out[name]['end_to_exit_s']:.3f} s (max {out[name]['max_s']:.3f}), "
                f"{out[name]['requests']} requests in all, {out[name]['quiet_requests_per_s']:.2f}/s mid-build")
        c.close()
    finally:
        d.stop()
    return out


# ------------------------------------------------------------------------------------------ report
def print_report(res: dict[str, Any]) -> None:
    p = print
    p(f"\njenkins-kit jobs apply vs JJB {res['jjb_version']}, whole processes; double latency {res['latency_ms']:g} ms, "
      f"{res['workers']} workers; medians; load average at start {res['load_before']}, at end {res['load_after']}")
    for key, suite in res["sync"].items():
        p(f"\n{key}: {suite['jobs']} jobs, {'%d folders' % suite['folders'] if suite['folders'] else 'flat'} "
          f"({suite['reps']} rep{'s' if suite['reps'] != 1 else ''}); peak RSS of jobs apply {suite['kit_peak_rss_mb']:.0f} MB")
        w, dw = res["workers"], suite.get("kit_default_workers")
        p(f"  {'scenario':<30} {'jenkins-kit -w %d' % w:>20} {'JJB -w %d' % w:>20} {'JJB/kit':>8} {'floor':>7} "
          f"{'kit/floor':>9} {'kit CPU':>8}" + (f" | {'kit default -w %d' % dw:>20} {'JJB/kit':>8} {'floor':>7} {'kit/floor':>9}" if dw else ""))
        for s, row in suite["scenarios"].items():
            k = row["kit"]
            ks = f"{k['wall_s']:.2f} s {k['requests']:>6} req"
            js = f"{row['jjb']['wall_s']:.2f} s {row['jjb']['requests']:>6} req" if "jjb" in row else "-"
            jr = f"{row['jjb_over_kit']:.1f}x" if "jjb_over_kit" in row else "-"
            line = f"  {LABELS[s]:<30} {ks:>20} {js:>20} {jr:>8} {row['floor_s']:>6.2f}s {row['kit_over_floor']:>8.2f}x {k['cpu_s']:>7.2f}s"
            if "kitdef" in row:
                kd = row["kitdef"]
                jd = f"{row['jjb_over_kitdef']:.1f}x" if "jjb_over_kitdef" in row else "-"
                line += (f" | {kd['wall_s']:.2f} s {kd['requests']:>6} req".rjust(23) + f" {jd:>8} {row['kitdef_floor_s']:>6.2f}s"
                         f" {row['kitdef_over_floor']:>8.2f}x")
            p(line)
            if "bare" in row:
                b = row["bare"]
                p(f"  {'':<30} bare http.client pool, -w {w}, same requests: {b['wall_s']:.2f} s {b['requests']} req (CPU {b['cpu_s']:.2f} s); "
                  f"jenkins-kit {row['kit_over_bare']:.2f}x that")
    if res.get("startup"):
        for name, r in res["startup"].items():
            p(f"\nstart-up {name}: jenkins-kit {r['kit_s']:.3f} s, jenkins-jobs {r['jjb_s']:.3f} s ({r['jjb_over_kit']:.1f}x)")
    if res.get("render"):
        r = res["render"]
        for where in ("disk", "tmpfs"):
            if where in r:
                x = r[where]
                p(f"render {r['jobs']} jobs to {where}, CLI vs CLI: jenkins-kit jobs render {x['kit_s']:.3f} s (CPU {x['kit_cpu_s']:.2f} s), "
                  f"jenkins-jobs test {x['jjb_s']:.3f} s (CPU {x['jjb_cpu_s']:.2f} s): {x['jjb_over_kit']:.1f}x; "
                  f"floor (its files written by plain os calls) {x['floor_s']:.3f} s: kit {x['kit_over_floor']:.1f}x the floor; "
                  f"first render after an edit of the config (no cached config) {x['edited_s']:.3f} s: {x['jjb_over_edited']:.1f}x")
    if res.get("builds"):
        b = res["builds"]
        for name in ("silent", "chatty"):
            r = b[name]
            p(f"build end -> exit, {name} {b['duration_ms'] / 1000:g} s build: {r['end_to_exit_s']:.3f} s (max {r['max_s']:.3f} s), "
              f"{r['requests']} requests in all, {r['quiet_requests_per_s']:.2f}/s in the middle of the build")


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 jobs, one rep, short builds (what the smoke test runs)")
    ap.add_argument("--sizes", default="1000,10000", help="job counts, comma-separated (default 1000,10000)")
    ap.add_argument("--layouts", default="folders,flat", help="folders and/or flat (default both)")
    ap.add_argument("--folders", type=int, default=50, help="folders in the 'folders' layout (default 50)")
    ap.add_argument("--reps", type=int, default=3, help="reps below 10,000 jobs (default 3)")
    ap.add_argument("--reps-10k", type=int, default=1, help="reps at 10,000 jobs and more (default 1)")
    ap.add_argument("--workers", type=int, default=16, help="both tools' --workers (default 16: JJB's fastest)")
    ap.add_argument("--latency-ms", type=float, default=10.0)
    ap.add_argument("--skip-jjb", action="store_true", help="jenkins-kit only")
    ap.add_argument("--no-kit-default", action="store_true",
                    help="do not also run jenkins-kit at its default worker count (as users run it) beside --workers")
    ap.add_argument("--sections", default="sync,startup,render,builds")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="sync scenarios, in this order on one double (default all: %(default)s); a later one runs on what "
                         "the earlier ones left, so 'noop' alone runs on nothing")
    ap.add_argument("--build-ms", type=int, default=3000, help="duration of the followed builds (default 3000)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    a = ap.parse_args(argv)
    if a.quick:
        a.sizes, a.folders, a.reps, a.reps_10k, a.build_ms = "100", 5, 1, 1, 1500
    sections = set(a.sections.split(","))
    scen = tuple(x for x in a.scenarios.split(",") if x)
    if not scen or set(scen) - set(SCENARIOS):
        ap.error(f"--scenarios: choose from {','.join(SCENARIOS)}")
    import compileall
    import signal

    # jenkins-kit as installed: pip compiles a package's bytecode at install (JJB's included); this
    # checkout's may be missing or stale (these machines set PYTHONDONTWRITEBYTECODE), and compiling
    # it afresh in every timed run would cost ~15 ms no user pays.
    compileall.compile_dir(str(ROOT / "jenkins_kit"), quiet=1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so every double is stopped on the way out
    log = (lambda s: print(s, file=sys.stderr, flush=True))
    jjb_version = subprocess.run([_which("jenkins-jobs"), "--version"], capture_output=True, text=True, check=False)
    res: dict[str, Any] = {"latency_ms": a.latency_ms, "workers": a.workers, "load_before": _load(),
                           "jjb_version": (jjb_version.stdout or jjb_version.stderr).strip().split()[-1], "sync": {}}
    from jenkins_kit.config.schema import Jobs

    with tempfile.TemporaryDirectory(prefix="jk-bench-cli-") as t:
        tmp = Path(t)
        if "sync" in sections:
            for n in (int(x) for x in a.sizes.split(",")):
                for layout in a.layouts.split(","):
                    folders = a.folders if layout == "folders" else 0
                    key = f"{n}-{layout}"
                    log(f"sync {key}")
                    res["sync"][key] = sync_suite(n, folders, a.workers, a.latency_ms, a.reps_10k if n >= 10000 else a.reps,
                                                  tmp / key, not a.skip_jjb, log,
                                                  kit_default=not a.no_kit_default and a.workers != Jobs().workers,
                                                  scenarios=scen)
        if "startup" in sections:
            log("start-up")
            res["startup"] = startup(3 if a.quick else 7, log)
        if "render" in sections:
            log("render")
            n = min(int(a.sizes.split(",")[0]), 1000)
            res["render"] = render_cmp(n, a.folders, 1 if a.quick else 3, tmp, log)
        if "builds" in sections:
            log("builds")
            res["builds"] = builds(a.build_ms, 1 if a.quick else 3, a.latency_ms, log)
    res["load_after"] = _load()
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print_report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
