"""Back up and restore Jenkins' home on the NFS host: the Python API behind `jenkins-kit backup`
and `jenkins-kit restore` (docs/backup.md).

    from jenkins_kit.backup import backup, verify, restore
    r = backup("/nfs_shared/jenkins", "/var/backups/jenkins-kit", client=JenkinsClient(settings), keep=7)
    assert verify(r.archive).ok
    restore(r.archive, "/nfs_shared/jenkins", dry_run=True)
"""

from jenkins_kit.backup.archive import ArchiveInvalid, BackupError, Verified, read_header, verify
from jenkins_kit.backup.create import DEFAULT_DEST, BackupResult, BackupUsageError, apply_retention, backup
from jenkins_kit.backup.members import DEFAULT_EXCLUDES, Excluder
from jenkins_kit.backup.quiesce import BuildsStillRunning, QuiesceReport, QuietDownNotLifted, quiesced, running_builds
from jenkins_kit.backup.restore import RestoreError, RestoreResult, TargetNotEmpty, restore

__all__ = [
    "DEFAULT_DEST",
    "DEFAULT_EXCLUDES",
    "ArchiveInvalid",
    "BackupError",
    "BackupResult",
    "BackupUsageError",
    "BuildsStillRunning",
    "Excluder",
    "QuiesceReport",
    "QuietDownNotLifted",
    "RestoreError",
    "RestoreResult",
    "TargetNotEmpty",
    "Verified",
    "apply_retention",
    "backup",
    "quiesced",
    "read_header",
    "restore",
    "running_builds",
    "verify",
]
