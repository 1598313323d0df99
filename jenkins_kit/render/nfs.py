"""What the NFS host must hold: one /etc/exports line and the commands that prepare the export."""

from __future__ import annotations

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.escape import shell_word


def export_line(cfg: LabConfig) -> str:
    opts = ",".join(cfg.nfs.options)
    clients = " ".join(f"{c}({opts})" for c in cfg.nfs.clients)
    # exports(5) needs octal escapes for whitespace in paths; our schema forbids whitespace.
    return f"{cfg.nfs.path} {clients}"


def host_script(cfg: LabConfig) -> str:
    """A shell script for the NFS host, for users who cannot run `jenkins-kit nfs export` there."""
    path = shell_word(cfg.nfs.path)
    owner = shell_word(f"{cfg.nfs.uid}:{cfg.nfs.gid}")
    line = shell_word(export_line(cfg))
    return (
        "#!/bin/sh\n"
        "# Prepare the NFS export for Jenkins' home. Run as root on the NFS server.\n"
        "# Equivalent, with verification and a backup of /etc/exports: jenkins-kit nfs export\n"
        "set -eu\n"
        f"mkdir -p {path}\n"
        "# Not recursive: existing data keeps its ownership.\n"
        f"chown {owner} {path}\n"
        f"if ! grep -qxF {line} /etc/exports; then\n"
        "  cp -p /etc/exports /etc/exports.jenkins-kit.bak 2>/dev/null || true\n"
        f"  printf '%s\\n' {line} >> /etc/exports\n"
        "fi\n"
        "exportfs -ra\n"
    )
