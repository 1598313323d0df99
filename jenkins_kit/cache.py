"""Where jenkins-kit keeps what it may forget: `$XDG_CACHE_HOME/jenkins-kit/<name>` (default ~/.cache).

One place, so the config cache and the template cache (docs/cli.md, "Caches") cannot drift apart."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jenkins-kit" / name


def write_atomic(path: Path, blob: bytes) -> bool:
    """Replace `path` with `blob` whole or not at all (commands may run side by side): a temporary
    file in the same folder, then `os.replace`. False when it cannot be written, which for a cache
    is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except OSError:
        return False
    return True
