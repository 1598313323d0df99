"""Error types and their exit codes, in one table.

Every failure the user can cause or meet becomes a `KitError` carrying a hint, so the CLI prints
advice instead of a traceback. Exit codes 0-4 are reserved for build results (jenkins-cli
semantics) and for "changes pending" (2) of `plan --detailed-exitcode`, so every tool error uses 10
and up, on every command (docs/cli.md). The only exception is asked for: under
`--detailed-exitcode` any error is 1, as terraform does.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ExitCode:
    OK = 0
    # Build results with -s/-f mirror hudson.model.Result ordinals (jenkins-cli BuildCommand).
    SUCCESS = 0
    UNSTABLE = 1
    FAILURE = 2
    NOT_BUILT = 3
    ABORTED = 4
    # Tool outcomes.
    CHANGES_PENDING = 2  # `plan --detailed-exitcode` only
    USAGE = 16  # bad config / bad arguments (click's usage errors too): the same as INPUT
    ERROR = 20  # an operation failed (cluster, helm, NFS host, a failed check) for another reason
    TIMEOUT = 10
    INTERRUPTED = 11
    CANCELLED = 12
    NOT_FOUND = 13
    AUTH = 14
    SERVER = 15
    INPUT = 16  # bad parameters / arguments discovered while following a build command
    CONNECTION = 17
    PARTIAL = 18  # some items of a batch failed
    NOT_BUILDABLE = 19  # job disabled / not buildable (409), or Jenkins scheduled nothing
    INTERNAL = 70  # a bug in jenkins-kit (sysexits EX_SOFTWARE); --debug shows the traceback
    FOLLOW_DETACHED = 125  # `build -f` interrupted: the build keeps running (jenkins-cli's code)


class KitError(Exception):
    """An error with advice. `exit_code` is what the CLI exits with."""

    exit_code: int = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


@dataclass(frozen=True)
class ConfigProblem:
    """One problem found in a config file, positioned for the user."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None = None

    def format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.path or '<root>'}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(KitError):
    exit_code = ExitCode.USAGE

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))


@dataclass
class InvalidValue(KitError):
    """A value that can never be legal where it is used (e.g. a job name with '/')."""

    field_path: str
    value: str
    reason: str
    fix: str | None = None
    exit_code: int = field(default=ExitCode.USAGE, init=False)

    def __post_init__(self) -> None:
        KitError.__init__(self, f"{self.field_path}: {self.reason} (got {self.value!r})", self.fix)
