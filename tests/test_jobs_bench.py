"""The whole-command benchmark (bench/sync_cli_vs_jjb.py) runs in its quick mode so it cannot rot.

Full-size figures live in docs/jobs.md. Wall-clock ratios are not asserted here (a shared CI machine
makes them noise); request budgets are deterministic and are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("jenkins-jobs") is None and not (Path(sys.executable).parent / "jenkins-jobs").exists(),
                    reason="jenkins-job-builder is not installed")
def test_benchmark_quick_mode():
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "sync_cli_vs_jjb.py"), "--quick", "--json"],
                       check=False, capture_output=True, text=True, timeout=900, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout)
    for key, items in (("100-folders", 105), ("100-flat", 100)):
        s = r["sync"][key]["scenarios"]
        kit = {k: v["kit"] for k, v in s.items()}
        assert kit["cold"]["requests"] <= items + 2 and kit["cold"]["posts"] == items
        assert kit["noop"]["requests"] == 1 and kit["noop"]["posts"] == 0  # one listing, whatever the size
        assert kit["changed_10pct"]["requests"] == 10 + 1
        assert kit["changed_all"]["requests"] == 100 + 1
        assert kit["verify"]["requests"] == items + 1 and kit["verify"]["posts"] == 0
        assert s["cold"]["jjb"]["requests"] > 3 * items  # the peer really ran against its double
        for row in s.values():
            assert row["floor_s"] > 0 and row["kit_over_floor"] > 0 and row["jjb_over_kit"] > 0
        assert r["sync"][key]["kit_peak_rss_mb"] > 0
    assert set(r["startup"]) == {"--version", "--help"}
    assert r["render"]["disk"]["kit_s"] > 0 and r["render"]["disk"]["jjb_s"] > 0
    for name in ("silent", "chatty"):
        b = r["builds"][name]
        assert 0 <= b["end_to_exit_s"] < 30 and b["requests"] > 0
