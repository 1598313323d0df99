"""Where jenkins-kit keeps what it may forget: `$XDG_CACHE_HOME/jenkins-kit/<name>` (default ~/.cache).

One place, so the config cache and the template cache (docs/cli.md, "Caches") cannot drift apart."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jenkins-kit" / name
