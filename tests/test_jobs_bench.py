"""The sync benchmark runs in a reduced size so it cannot rot (full-size figures: docs/jobs.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("jenkins-jobs") is None, reason="jenkins-job-builder is not installed")
def test_benchmark_reduced_size():
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "sync_vs_jjb.py"), "--jobs", "100", "--folders", "5", "--json"],
                       check=False, capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout)
    kit, jjb = r["jenkins_kit"], r["jjb"]
    items = 105
    # request budgets are deterministic: about one request per new job, one listing for a no-op
    assert kit["cold_create"]["requests"] <= items + 2
    assert kit["noop"]["requests"] <= 2 and kit["noop"]["posts"] == 0
    assert kit["changed_10pct"]["requests"] <= 10 + 2
    assert kit["verify"]["requests"] <= items + 2
    assert jjb["cold_create"]["requests"] > 3 * items  # what we compare against
    # wall-clock ratios are loose here (shared CI machines); the full-size run shows the real margins
    assert r["ratios"]["cold_create"]["speedup"] > 2
    assert kit["noop"]["wall_s"] < jjb["noop"]["wall_s"]
