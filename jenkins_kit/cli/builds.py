"""`jenkins-kit build | logs | status | stop`: trigger and follow builds like `jenkins-cli build`.

Exit codes are one table (jenkins_kit.jenkins.builds.EXIT_CODE_TABLE), printed in `build --help`
and docs/builds.md. Codes 0-4 are build results only: every other failure of these commands
(including click usage errors, which click would report as 2 = FAILURE) is mapped to 10+.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from jenkins_kit.cli.connection import Connection, connection_options
from jenkins_kit.cli.output import config_option, err_console, output_option
from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.jenkins.builds import (
    EXIT_CODE_TABLE,
    FOLLOW_DETACHED,
    NOT_BUILDABLE,
    BuildEvent,
    BuildTimeout,
    QueuedBuild,
    build_status,
    get_build,
    parse_parameter_args,
    result_exit_code,
    trigger,
)
from jenkins_kit.jenkins.console import Deadline
from jenkins_kit.jenkins.errors import JenkinsTimeoutError

F = TypeVar("F", bound=Callable[..., Any])

_RESULT_CODES = {0, 1, 2, 3, 4}
_TOOL_CODES = {code for code, _, _ in EXIT_CODE_TABLE} - _RESULT_CODES


def _exit_code_epilog() -> str:
    lines = ["\b", "Exit codes:"]
    for code, name, meaning in EXIT_CODE_TABLE:
        lines.append(f"  {code:>3}  {name:<13} {meaning}")
    return "\n".join(lines)


class _Command(click.Command):
    """Usage errors exit 16 (INPUT), not click's 2, which would read as a FAILURE build result."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            e.exit_code = ExitCode.INPUT  # type: ignore[misc]  # click reads it from the instance
            raise


def _remap(e: KitError) -> KitError:
    """Keep 0-4 for build results: any other error that would exit 1-4 gets a 10+ code."""
    code = getattr(e, "exit_code", ExitCode.ERROR)
    if code in _TOOL_CODES:
        return e
    from jenkins_kit.jenkins.errors import ConflictError, JenkinsError
    if isinstance(e, ConflictError):
        e.exit_code = NOT_BUILDABLE
    elif isinstance(e, JenkinsError):
        e.exit_code = ExitCode.SERVER  # 405, unexpected answers: Jenkins did not behave as documented
    else:
        e.exit_code = ExitCode.INPUT  # config, settings, names: something to fix on our side
    return e


# ------------------------------------------------------------------------------------------ plumbing


def _connection_options(f: F) -> F:
    # No -c here: in jenkins-cli's `build`, -c means "check for SCM changes first".
    f = config_option(
        short=False,
        help="Lab config (jenkins.url, jenkins.admin); used only if it exists. JENKINS_URL, JENKINS_USER_ID and "
        "JENKINS_API_TOKEN take precedence.",
    )(f)
    f = connection_options(f)
    f = click.option(
        "--unavailable-wait",
        type=click.FloatRange(min=0),
        default=60.0,
        show_default=True,
        metavar="SEC",
        help="How long to ride out Jenkins answering 503 (starting/restarting) before giving up (exit 15).",
    )(f)
    return f


def _client(config_path: str, unavailable_wait: float, conn: Connection) -> Any:
    from jenkins_kit.jenkins.client import JenkinsClient

    ctx = click.get_current_context()
    explicit = ctx.get_parameter_source("config_path") not in (click.core.ParameterSource.DEFAULT, None)
    config = None
    if Path(config_path).is_file():
        from jenkins_kit.config import load_config

        config = load_config(config_path)
    elif explicit:
        raise KitError(f"config file {config_path} does not exist", "give an existing file with --config, or rely on JENKINS_URL/JENKINS_USER_ID/JENKINS_API_TOKEN")
    return JenkinsClient(conn.settings(config, unavailable_wait=unavailable_wait))


class _Out:
    """Events to stdout (JSON lines) or to a terminal (progress on stderr, console bytes on stdout)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    broken = False  # stdout's reader went away (e.g. `| head`): keep following, stop writing

    def _stdout(self, write: Callable[[], object]) -> None:
        if self.broken:
            return
        try:
            write()
            sys.stdout.flush()
        except BrokenPipeError:
            # Keep -s/-f semantics (exit code = result) but write nothing more; point fd 1 at
            # /dev/null so the interpreter's final flush does not fail again (Python docs recipe).
            self.broken = True
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError, AttributeError):
                pass

    def json(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False, default=str) + "\n"
        self._stdout(lambda: sys.stdout.write(line))

    def note(self, text: str, style: str | None = None) -> None:
        if not self.as_json:
            err_console().print(text, markup=False, highlight=False, style=style)

    def event(self, ev: BuildEvent) -> None:
        if self.as_json:
            self.json(ev.to_json())
            return
        f = ev.fields
        if ev.event == "queued":
            params = f.get("parameters") or {}
            shown = (" with " + ", ".join(f"{k}={v}" for k, v in params.items())) if params else ""
            self.note(f"Queued {f['job']}{shown}: queue item {f['queue_id']} ({f['url']})")
            if f.get("merged"):
                self.note(
                    f"note: Jenkins merged this request into queue item {f['queue_id']}"
                    f" ({f.get('merged_reason', 'identical request already queued')}); the build is shared",
                    style="yellow",
                )
        elif ev.event == "waiting":
            self.note(f"Waiting: {f['why']}", style="dim")
        elif ev.event == "started":
            how = " (queue item expired; matched by queueId)" if f.get("resolved_by") == "queueId-scan" else ""
            self.note(f"Started {f['job']} #{f['number']}{how}: {f['url']}")
        elif ev.event == "log" and ev.data is not None:
            data = ev.data
            self._stdout(lambda: sys.stdout.buffer.write(data))
        elif ev.event == "finished":
            secs = f.get("duration", 0) / 1000.0
            style = {"SUCCESS": "green", "UNSTABLE": "yellow"}.get(f["result"], "red")
            self.note(f"Finished {f['job']} #{f['number']}: {f['result']} ({secs:.1f} s)", style=style)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """CI systems cancel with SIGTERM: treat it like Ctrl-C while a build is being followed."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. CliRunner in a thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _is_cli_process() -> bool:
    """True when this process is the `jenkins-kit` command itself (not click's CliRunner, not a
    program calling `cli.main()` in-process)."""
    if os.environ.get("JENKINS_KIT_NO_FAST_EXIT"):
        return False
    if sys.stdout is not sys.__stdout__ or sys.stderr is not sys.__stderr__:
        return False
    argv0 = Path(sys.argv[0] or "")
    return argv0.name == "jenkins-kit" or (argv0.name == "__main__.py" and argv0.parent.name == "jenkins_kit")


def _exit(code: int) -> None:
    """Exit with `code`. When following a build, the command must end right after the build: a
    full interpreter shutdown of this CLI (module teardown of rich, pydantic, requests, ...) takes
    0.3-0.8 s, so in the real CLI process we flush and leave with os._exit."""
    if _is_cli_process():
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    raise click.exceptions.Exit(code)


def _guard(out: _Out, fn: Callable[[], int]) -> int:
    """Run a command body: remap colliding exit codes; with --json also emit an `error` event."""
    try:
        return fn()
    except KeyboardInterrupt:
        out.note("interrupted", style="yellow")
        return ExitCode.INTERRUPTED
    except KitError as e:
        _remap(e)
        if out.as_json:
            out.json({"event": "error", "exit_code": e.exit_code, "error": type(e).__name__, "message": e.message, "hint": e.hint})
        raise


# ------------------------------------------------------------------------------------------ build

_BUILD_HELP = """Trigger JOB (a folder path such as team/app is fine) and optionally follow it.

\b
Semantics follow `jenkins-cli build`:
  (no -s/-f/-w)  return once queued; print the queue item URL on stdout
  -w             wait until the build starts; print its URL on stdout (Ctrl-C cancels it)
  -s, --wait     wait for the result and exit with it; Ctrl-C (or SIGTERM) stops the build
                 on the server (or cancels the queue item) and exits 11
  -f, --follow   as -s, but Ctrl-C leaves the build running and exits 125 (jenkins-cli's code)
  -v, --log      stream the console (implies -f unless -s is given)

\b
Parameters are checked against the job before it is triggered: unknown names fail with a
suggestion, parameters without a default are required, defaults are filled in, -p NAME=@FILE
reads the value from FILE (one trailing newline dropped; NAME=@@x means the literal "@x").
Password parameters are never shown. Credentials: JENKINS_URL, JENKINS_USER_ID,
JENKINS_API_TOKEN, or the lab config -- never from the command line.

\b
-o json writes one JSON object per line: {"event": "queued"|"waiting"|"started"|"log"|"finished"
|"interrupted"|"error", ...}; log events carry "text".

\b
Examples:
  jenkins-kit build team/app                         queue it, print the queue item URL
  jenkins-kit build team/app -p BRANCH=main -s -v    wait, stream the console, exit with the result
  jenkins-kit build team/app -f --timeout 600 -o json
"""


@click.command("build", cls=_Command, help=_BUILD_HELP, epilog=_exit_code_epilog(), short_help="Trigger JOB; -s/-f wait and exit with its result, -v streams the console.")
@click.argument("job")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="A build parameter (repeatable); NAME=@FILE reads the value from FILE.")
@click.option("-s", "--wait", "sync", is_flag=True, help="Wait for the result; Ctrl-C stops the build.")
@click.option("-f", "--follow", is_flag=True, help="Wait for the result; Ctrl-C leaves the build running.")
@click.option("-w", "--wait-start", is_flag=True, help="Wait only until the build starts.")
@click.option("-v", "--log", "show_log", is_flag=True, help="Stream the console output.")
@click.option("-c", "--check-scm", is_flag=True,
              help="jenkins-cli's 'build only if the SCM changed': refused with advice (see docs/builds.md); "
                   "the REST API cannot ask Jenkins to poll and answer.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SEC", help="Give up after SEC seconds in total (exit 10; with -s the build is stopped).")
@click.option("--delay", type=click.IntRange(min=0), default=0, show_default=True, metavar="SEC", help="Quiet period before the build may start (jenkins-cli uses 0).")
@output_option
@_connection_options
def build_cmd(
    job: str,
    params: tuple[str, ...],
    sync: bool,
    follow: bool,
    wait_start: bool,
    show_log: bool,
    timeout: float | None,
    delay: int,
    as_json: bool,
    config_path: str,
    unavailable_wait: float,
    conn: Connection,
    check_scm: bool = False,
) -> None:
    out = _Out(as_json)
    if check_scm:
        # jenkins-cli runs `job.poll(listener).hasChanges()` inside the controller (BuildCommand); over
        # HTTP, `POST job/X/polling` only schedules a poll and answers nothing about changes. Building
        # anyway would do what -c exists to prevent, so say so instead.
        raise click.UsageError(
            "-c/--check-scm (build only if the SCM changed) cannot be done through the Jenkins REST API: "
            "jenkins-cli polls inside the controller. Let Jenkins poll (job.poll_scm in the lab config) "
            "or build unconditionally without -c."
        )
    if show_log and not (sync or follow):
        follow = True
    waiting = sync or follow
    state: dict[str, QueuedBuild] = {}

    def body() -> int:
        given = parse_parameter_args(params)
        with _sigterm_as_interrupt():
            try:
                client = _client(config_path, unavailable_wait, conn)
                if timeout is not None:
                    client.set_deadline(timeout)  # --timeout bounds the whole command, requests and retries included
                queued = trigger(client, job, given, delay=delay)
                state["q"] = queued
                until = "finished" if waiting else "started"
                events = queued.follow(log=show_log, timeout=timeout, until=until)
                first = next(events)  # queued
                out.event(first)
                if not waiting and not wait_start:
                    if not as_json:
                        click.echo(queued.location)
                    return ExitCode.OK
                for ev in events:
                    out.event(ev)
                if not waiting:
                    assert queued.build is not None
                    if not as_json:
                        click.echo(queued.build.url)
                    return ExitCode.OK
                assert queued.build is not None and queued.build.final is not None
                return queued.build.final.exit_code
            except KeyboardInterrupt:
                return _interrupted(out, state.get("q"), stop=not follow)  # -s and -w: as jenkins-cli, Ctrl-C cancels
            except (BuildTimeout, JenkinsTimeoutError) as e:
                q = state.get("q")
                if sync and not follow and q is not None:
                    q.client.set_deadline(10.0)  # a short grace for the stop request itself
                    what = _safe_abort(q)
                    e.hint = f"{what}; {e.hint}" if e.hint else what
                raise

    code = _guard(out, body)
    if waiting or wait_start:
        _exit(code)
    raise click.exceptions.Exit(code)


def _safe_abort(q: QueuedBuild) -> str:
    try:
        return q.abort()
    except KitError as err:
        return f"could not stop it: {err.message}"


def _interrupted(out: _Out, q: QueuedBuild | None, *, stop: bool) -> int:
    if q is None:
        out.note("interrupted before Jenkins confirmed the trigger; a build may or may not have been queued", style="yellow")
        if out.as_json:
            out.json({"event": "interrupted", "action": "none", "exit_code": ExitCode.INTERRUPTED})
        return ExitCode.INTERRUPTED
    target = f"{q.job} #{q.build.number}" if q.build else f"queue item {q.queue_id} of {q.job}"
    if not stop:
        url = q.build.url if q.build else q.location
        out.note(f"stopped following {target}; it keeps running: {url}", style="yellow")
        if out.as_json:
            out.json({"event": "interrupted", "action": "detached", "job": q.job, "number": q.build.number if q.build else None,
                      "queue_id": q.queue_id, "url": url, "exit_code": FOLLOW_DETACHED})
        return FOLLOW_DETACHED
    # -s: stop the build on the server. A second Ctrl-C while we wait ends the command at once.
    try:
        what = q.abort()
        out.note(f"interrupted: {what}", style="yellow")
        result = None
        if q.build is not None:
            try:
                for ev in q.build.events(deadline=Deadline(10.0), watch_log=False):
                    if ev.event == "finished":
                        result = ev.fields["result"]
                        out.event(ev)
            except BuildTimeout:
                out.note(f"{target} has not finished 10 s after the stop request: {q.build.url}", style="yellow")
        if out.as_json:
            out.json({"event": "interrupted", "action": "stopped", "job": q.job, "number": q.build.number if q.build else None,
                      "queue_id": q.queue_id, "detail": what, "result": result, "exit_code": ExitCode.INTERRUPTED})
    except KeyboardInterrupt:
        out.note("interrupted again; not waiting for Jenkins", style="yellow")
    except KitError as e:
        out.note(f"interrupted, but stopping {target} failed: {e.message}", style="red")
    return ExitCode.INTERRUPTED


# ------------------------------------------------------------------------------------------ logs / status / stop


@click.command("logs", cls=_Command, epilog=_exit_code_epilog())
@click.argument("job")
@click.argument("build", default="last", metavar="[N|last]")
@click.option("-f", "--follow", is_flag=True, help="Keep streaming until the build finishes; then exit with its result code.")
@_connection_options
def logs_cmd(job: str, build: str, follow: bool, config_path: str, unavailable_wait: float, conn: Connection) -> None:
    """Print the console of build N of JOB (default: the last build).

    Without --follow: the console as it is now, exit 0. With --follow: stream it through
    progressiveText until the build finishes, then exit with the result code (0-4), like
    `build -f`. Ctrl-C stops following only (exit 125).

    \b
    Examples:
      jenkins-kit logs team/app                 the last build's console
      jenkins-kit logs team/app 12 -f            follow build 12, exit with its result
    """
    out = _Out(False)

    def body() -> int:
        client = _client(config_path, unavailable_wait, conn)
        b = get_build(client, job, build)
        if not follow:
            resp = client.get(b.path + "consoleText", stream=True)
            try:
                for piece in resp.iter_content(chunk_size=65536):
                    sys.stdout.buffer.write(piece)
                sys.stdout.flush()
            finally:
                resp.close()
            return ExitCode.OK
        with _sigterm_as_interrupt():
            try:
                for ev in b.events(log=True):
                    out.event(ev)
            except KeyboardInterrupt:
                out.note(f"stopped following {job} #{b.number}; it keeps running: {b.url}", style="yellow")
                return FOLLOW_DETACHED
        assert b.final is not None
        return b.final.exit_code

    code = _guard(out, body)
    if follow:
        _exit(code)
    raise click.exceptions.Exit(code)


@click.command("status", cls=_Command)
@click.argument("job")
@click.argument("build", default="last", metavar="[N|last]")
@output_option
@_connection_options
def status_cmd(job: str, build: str, as_json: bool, config_path: str, unavailable_wait: float, conn: Connection) -> None:
    """Show build N of JOB (default: the last build): result or running, duration, parameters.

    Exits 0 whenever the status could be read (the result is in the output and in the JSON
    field "exit_code"); errors use the codes of `build --help`. Password parameters are masked.

    \b
    Examples:
      jenkins-kit status team/app
      jenkins-kit status team/app 12 -o json
    """
    out = _Out(as_json)

    def body() -> int:
        client = _client(config_path, unavailable_wait, conn)
        st = build_status(client, job, build)
        if as_json:
            sys.stdout.write(json.dumps(st, ensure_ascii=False, sort_keys=True, default=str) + "\n")
            return ExitCode.OK
        state = "RUNNING" if st["building"] else st["result"]
        secs = st["duration"] / 1000.0
        click.echo(f"{st['job']} #{st['number']}  {state}" + ("" if st["building"] else f"  {secs:.1f} s") + f"  {st['url']}")
        if st["causes"]:
            click.echo("  cause: " + "; ".join(st["causes"]))
        if st["parameters"]:
            shown = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in st["parameters"].items()}  # as Jenkins writes them
            click.echo("  parameters: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        if st["queue_id"] is not None:
            click.echo(f"  queue id: {st['queue_id']}")
        return ExitCode.OK

    raise click.exceptions.Exit(_guard(out, body))


@click.command("stop", cls=_Command)
@click.argument("job")
@click.argument("build", metavar="N")
@click.option("--term", "how", flag_value="term", help="Send 'term' (fail running steps) instead of 'stop'.")
@click.option("--kill", "how", flag_value="kill", help="Hard-kill the build ('kill').")
@click.option("--no-wait", is_flag=True, help="Do not wait for the build to end.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True, metavar="SEC", help="How long to wait for the build to end.")
@_connection_options
def stop_cmd(job: str, build: str, how: str | None, no_wait: bool, timeout: float, config_path: str, unavailable_wait: float, conn: Connection) -> None:
    """Stop build N of JOB (POST .../N/stop) and wait until Jenkins reports it ended.

    Exit 0 when the build has ended (or had already ended), 10 if it is still running after
    --timeout, 13 if there is no such build.

    \b
    Examples:
      jenkins-kit stop team/app 12
      jenkins-kit stop team/app 12 --kill --timeout 10
    """
    out = _Out(False)

    def body() -> int:
        client = _client(config_path, unavailable_wait, conn)
        b = get_build(client, job, build)
        info = b.info()
        if not (info.get("building") or info.get("inProgress") or info.get("result") is None):
            click.echo(f"{job} #{b.number} had already finished: {info.get('result')}")
            return ExitCode.OK
        b.stop(how or "stop")
        out.note(f"{how or 'stop'} requested for {job} #{b.number}")
        if no_wait:
            return ExitCode.OK
        for ev in b.events(deadline=Deadline(timeout), watch_log=False):
            if ev.event == "finished":
                click.echo(f"{job} #{b.number}: {ev.fields['result']}")
        return ExitCode.OK

    raise click.exceptions.Exit(_guard(out, body))


def register(group: click.Group) -> None:
    for cmd in (build_cmd, logs_cmd, status_cmd, stop_cmd):
        group.add_command(cmd)


__all__ = ["register", "result_exit_code"]
