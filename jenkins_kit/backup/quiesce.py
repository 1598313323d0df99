"""Quiet Jenkins down for the length of a backup, and always lift it again.

`POST /quietDown` stops new builds from starting (queued items wait with "Jenkins is about to shut
down"); builds already running keep writing their logs and build.xml, so we wait for them up to a
bound the user sets, then either proceed or refuse (jenkins-remote-api.md §6.4; core
`Jenkins.doQuietDown`/`doCancelQuietDown`). Running builds are read from `computer/api/json`:
a Pipeline run sits on a flyweight executor (`oneOffExecutors`), a freestyle build on a numbered
one (`executors`), on the built-in node or an agent (core `Computer.getOneOffExecutors`).

The quiet-down is lifted in a `finally`, so an error, Ctrl-C or SIGTERM (turned into
KeyboardInterrupt by the CLI) lifts it too. If Jenkins was already quieting down before we
started (an administrator preparing a restart), it is left as we found it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from jenkins_kit.errors import ExitCode, KitError

OnTimeout = Literal["refuse", "proceed"]

_RUNNING_TREE = (
    "busyExecutors,computer[displayName,executors[idle,currentExecutable[url,fullDisplayName]],"
    "oneOffExecutors[idle,currentExecutable[url,fullDisplayName]]]"
)
QUIET_MESSAGE = "jenkins-kit backup in progress"


class BuildsStillRunning(KitError):
    exit_code = ExitCode.TIMEOUT


class QuietDownNotLifted(KitError):
    exit_code = ExitCode.ERROR


@dataclass
class QuiesceReport:
    """What happened on the Jenkins side; part of the backup's result and JSON."""

    url: str
    jenkins_version: str | None = None
    plugins: list[dict[str, Any]] = field(default_factory=list)
    was_quieting: bool = False
    quieted: bool = False
    lifted: bool = False
    running_at_start: list[str] = field(default_factory=list)
    still_running: list[str] = field(default_factory=list)
    waited_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "jenkins_version": self.jenkins_version,
            "was_quieting_down": self.was_quieting,
            "quieted_down": self.quieted,
            "lifted": self.lifted,
            "running_at_start": self.running_at_start,
            "still_running": self.still_running,
            "waited_s": round(self.waited_s, 3),
        }


def running_builds(client: Any) -> list[str]:
    """Display names (or URLs) of every build running on any node."""
    data = client.get_json("computer/api/json", tree=_RUNNING_TREE)
    out: list[str] = []
    for comp in data.get("computer") or []:
        for ex in (comp.get("executors") or []) + (comp.get("oneOffExecutors") or []):
            cur = (ex or {}).get("currentExecutable")
            if cur:
                out.append(str(cur.get("fullDisplayName") or cur.get("url") or "a build"))
            elif (ex or {}).get("idle") is False:  # busy, but the build is hidden from this user (no Item/Read)
                out.append(f"a build on {comp.get('displayName') or 'a node'} this user cannot see")
    if not out and int(data.get("busyExecutors") or 0) > 0:
        out.append(f"{data['busyExecutors']} busy executor(s)")
    return sorted(out)


def plugin_list(client: Any) -> list[dict[str, Any]]:
    data = client.get_json("pluginManager/api/json", tree="plugins[shortName,version,active,enabled,pinned]")
    plugins = [
        {"name": p.get("shortName"), "version": p.get("version"), "active": p.get("active"), "enabled": p.get("enabled")}
        for p in data.get("plugins") or []
    ]
    return sorted(plugins, key=lambda p: str(p["name"]))


@contextmanager
def quiesced(
    client: Any,
    *,
    wait_s: float,
    on_timeout: OnTimeout = "refuse",
    poll_s: float = 1.0,
    on_wait: Callable[[list[str], float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[QuiesceReport]:
    """Quiet Jenkins down, wait for running builds (bounded), yield, then lift the quiet-down."""
    if on_timeout not in ("refuse", "proceed"):
        raise ValueError(f"on_timeout must be 'refuse' or 'proceed', not {on_timeout!r}")
    if not wait_s >= 0:
        raise ValueError(f"wait_s must be >= 0, not {wait_s!r}")
    rep = QuiesceReport(url=client.url)
    rep.jenkins_version = client.version()
    root = client.get_json("", tree="quietingDown")
    rep.was_quieting = bool(root.get("quietingDown"))
    rep.plugins = plugin_list(client)
    posted = False
    failure: BaseException | None = None
    try:
        if not rep.was_quieting:
            posted = True
            try:
                client.post("quietDown", params={"message": QUIET_MESSAGE}, idempotent=True)
            except Exception as e:
                # refused before Jenkins acted (403 without Overall/Manage, 401): nothing to lift
                posted = getattr(e, "may_have_been_applied", True)
                raise
        rep.quieted = True
        start = clock()
        running = running_builds(client)
        rep.running_at_start = running
        while running:
            waited = clock() - start
            rep.waited_s = waited
            if waited >= wait_s:
                break
            if on_wait is not None:
                on_wait(running, wait_s - waited)
            sleep(min(poll_s, max(0.05, wait_s - waited)))
            running = running_builds(client)
        rep.waited_s = clock() - start
        rep.still_running = running
        if running and on_timeout == "refuse":
            shown = ", ".join(running[:5]) + (" ..." if len(running) > 5 else "")
            raise BuildsStillRunning(
                f"{len(running)} build(s) still running after waiting {wait_s:g}s: {shown}; no backup written",
                "wait longer (--wait SEC), stop the builds, or back up anyway with --on-timeout proceed "
                "(the running builds' files may then be caught mid-write)",
            )
        yield rep
    except BaseException as e:
        failure = e
        raise
    finally:
        if posted:
            try:
                client.post("cancelQuietDown", idempotent=True)
                rep.lifted = True
            except Exception as e:  # noqa: BLE001 - reported below with what to do
                after = f" (after: {failure})" if failure is not None and str(failure) else ""
                raise QuietDownNotLifted(
                    f"Jenkins at {client.url} is still quieting down: lifting it failed: {e}{after}",
                    "lift it in Manage Jenkins -> 'Cancel Shutdown', or POST to <JENKINS_URL>/cancelQuietDown "
                    "as an administrator; new builds will not start until then",
                ) from failure


__all__ = ["BuildsStillRunning", "OnTimeout", "QuiesceReport", "QuietDownNotLifted", "plugin_list", "quiesced", "running_builds"]
