"""Render throughput: the whole bundle for a lab with N repositories, CPU seconds.

    python bench/render_bundle.py [--repos 1000] [--rounds 3]

Prints the best-of-N CPU time of `render_bundle` (pure, no I/O) and the per-repository figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jenkins_kit.config.schema import LabConfig  # noqa: E402
from jenkins_kit.render.bundle import render_bundle  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lab" / "jenkins-kit.yaml"


def lab(repos: int) -> LabConfig:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["repositories"] = [
        {
            "name": f"app-{i:04d}",
            "git": f"https://git.example.test/team-{i % 50}/app-{i:04d}.git",
            "branch": "main",
            "job": {"folder": f"team-{i % 50:02d}", "parameters": [{"name": "DEPLOY", "type": "boolean", "default": True}]},
        }
        for i in range(repos)
    ]
    return LabConfig.model_validate(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cfg = lab(args.repos)
    render_bundle(lab(2))  # warm template caches, as a long-running process would be
    best = float("inf")
    files = 0
    for _ in range(args.rounds):
        t0 = time.process_time()
        bundle = render_bundle(cfg)
        best = min(best, time.process_time() - t0)
        files = len(bundle.files)
    result = {"repos": args.repos, "files": files, "cpu_s": round(best, 4), "ms_per_repo": round(best * 1000 / max(args.repos, 1), 4)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"render_bundle: {args.repos} repositories -> {files} files in {best:.3f} s CPU ({result['ms_per_repo']} ms per repository)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
