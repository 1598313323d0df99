"""The backup benchmark runs in a reduced size so it cannot rot (full-size figures: docs/backup.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tar") is None or shutil.which("gzip") is None, reason="GNU tar and gzip are needed")
def test_benchmark_reduced_size():
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "backup_vs_tar.py"), "--mb", "8", "--runs", "1", "--json"],
                       check=False, capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout)
    assert r["tree"]["bytes"] >= 8 * 1024 * 1024
    # same codec and level as gzip -6: the archives are within a few percent of each other
    assert abs(r["jenkins_kit"]["archive_bytes"] / r["tar_czf"]["archive_bytes"] - 1) < 0.05
    # no wall-clock bound here: at 8 MB on a shared 2-core machine start-up and load dominate;
    # the 1.3x goal is measured at full size (docs/backup.md)
    assert set(r) >= {"ratio_to_tar", "ratio_to_floor", "floor_deflate6_s"}
