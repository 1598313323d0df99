"""The `jenkins-kit` entry point: one place that turns errors into advice and an exit code.

Commands are loaded lazily (click's LazyGroup pattern): `--help` and `--version` import only click,
so they start in well under 0.3 s; a command's module (and pydantic, requests, kubernetes, ...) is
imported when that command runs. The table below carries each command's one-line help for the same
reason. Exit codes: docs/cli.md (tool errors are 10 and up; 0-4 are build results).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from jenkins_kit import __version__

# name -> (module:attribute, one-line help). The order is the order of `--help`.
_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("jenkins_kit.cli.init_cmd:init_cmd", "Write a commented starter config."),
    "config": ("jenkins_kit.cli.config_cmd:config_group", "Check and inspect the lab config."),
    "render": ("jenkins_kit.cli.render_cmd:render_cmd", "Render the whole bootstrap bundle into a folder, offline."),
    "doctor": ("jenkins_kit.cli.cluster:doctor_cmd", "Check the lab: cluster, node, NFS, registry, Jenkins."),
    "plan": ("jenkins_kit.cli.cluster:plan_cmd", "What 'up' would change (server-side dry run)."),
    "up": ("jenkins_kit.cli.cluster:up_cmd", "Bring the lab's Jenkins up, idempotently."),
    "down": ("jenkins_kit.cli.cluster:down_cmd", "Uninstall the Jenkins release (--purge: also what jenkins-kit created)."),
    "admin-password": ("jenkins_kit.cli.cluster:admin_password_cmd", "Print the Jenkins admin password from its Secret."),
    "nfs": ("jenkins_kit.cli.nfs:nfs_group", "The NFS server side of Jenkins' home."),
    "backup": ("jenkins_kit.cli.backup:backup_group", "Back up Jenkins' home (on the NFS host); 'backup verify ARCHIVE' checks one."),
    "restore": ("jenkins_kit.cli.backup:restore_cmd", "Restore Jenkins' home from a backup archive (on the NFS host)."),
    "jobs": ("jenkins_kit.cli.jobs:jobs_group", "Jobs generated from your repositories: discover, render, plan, apply."),
    "build": ("jenkins_kit.cli.builds:build_cmd", "Trigger a job; -s/-f wait and exit with its result, -v streams the console."),
    "logs": ("jenkins_kit.cli.builds:logs_cmd", "Print (or follow) the console of a build."),
    "status": ("jenkins_kit.cli.builds:status_cmd", "Show a build: result or running, duration, parameters."),
    "stop": ("jenkins_kit.cli.builds:stop_cmd", "Stop a build and wait until Jenkins reports it ended."),
}

# Exit codes of the root handler (the full table is jenkins_kit.errors.ExitCode / docs/cli.md).
_INPUT = 16
_INTERNAL = 70  # sysexits EX_SOFTWARE: a bug in jenkins-kit
_INTERRUPTED = 11
_BROKEN_PIPE = 141  # what a shell reports for a writer killed by SIGPIPE


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, _, attr = entry[0].partition(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The static table, so that `--help` imports no command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in _COMMANDS.items()])

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in _COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(_COMMANDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise click.UsageError(f"No such command '{name}'.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from jenkins_kit.errors import ConfigError, KitError

        try:
            return super().invoke(ctx)
        except ConfigError as e:
            from jenkins_kit.cli.output import err_console, plural

            c = err_console()
            c.print(f"[bold red]error:[/] invalid config ({plural(len(e.problems), 'problem')})", highlight=False)
            for p in e.problems:
                c.print(p.format(), markup=False, highlight=False)
            ctx.exit(_tool_code(e.exit_code))
        except KitError as e:
            from jenkins_kit.cli.output import print_error

            print_error(e.message, e.hint)
            ctx.exit(_tool_code(e.exit_code))

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """click's main with our policy: usage errors exit 16 (2 reads as a FAILURE build result),
        anything unexpected is one line (a traceback with --debug) and exit 70."""
        argv = list(args) if args is not None else sys.argv[1:]
        code = _run(lambda: super(_LazyGroup, self).main(argv, prog_name, complete_var, standalone_mode=False, **extra))
        if "--detailed-exitcode" in argv and code not in (0, 2):
            code = 1  # terraform's contract: 0 nothing to do, 2 changes pending, 1 anything else
        if standalone_mode:
            sys.exit(code)
        return code


def _tool_code(code: int) -> int:
    """Codes 1-4 are build results; a tool error that would use one is an input error."""
    return _INPUT if 1 <= code <= 4 else code


def _run(body: Any) -> int:
    try:
        rv = body()
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.UsageError as e:
        e.show()
        return _INPUT
    except click.ClickException as e:
        e.show()
        return _tool_code(e.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return _INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return _BROKEN_PIPE
    except Exception as e:  # noqa: BLE001 - the last resort: one line, never a traceback unless asked
        return _internal_error(e)


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _internal_error(e: BaseException) -> int:
    from jenkins_kit.cli.logs import debug_enabled, mask

    if debug_enabled():
        import traceback

        sys.stderr.write(mask("".join(traceback.format_exception(e))))
    where = ""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
    text = mask(str(e)).replace("\n", " ")[:300]
    sys.stderr.write(
        f"error: internal error{where}: {type(e).__name__}: {text}\n"
        "  hint: this is a bug in jenkins-kit; run again with --debug for the traceback and report it\n"
    )
    return _INTERNAL


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="jenkins-kit")
@click.option("-v", "--verbose", count=True, help="Log retries and HTTP traffic to stderr (-vv for more); secrets are masked.")
@click.option("--debug", is_flag=True, help="Log everything and show a traceback on internal errors (env JENKINS_KIT_LOG=debug).")
def cli(verbose: int, debug: bool) -> None:
    """Bootstrap Jenkins on a lab Kubernetes cluster and keep it in step with your repositories.

    \b
    Typical flow:
      jenkins-kit init                      write a starter jenkins-kit.yaml
      jenkins-kit config validate           check it (errors name file:line:col and a fix)
      jenkins-kit render --out bundle/      everything Jenkins and Kubernetes will receive, offline
      jenkins-kit plan / up / down          the cluster side
      jenkins-kit jobs plan / jobs apply    jobs generated from your repositories
      jenkins-kit build JOB -s -v           trigger a build, stream it, exit with its result

    Jenkins credentials come from JENKINS_URL, JENKINS_USER_ID and JENKINS_API_TOKEN (as jenkins-cli),
    never from the command line. Flags, output and exit codes: docs/cli.md.
    """
    from jenkins_kit.cli.logs import setup_logging

    setup_logging(verbose=verbose, debug=debug)


def main() -> None:
    # A short-lived process that builds tens of thousands of objects and keeps them to its end (the
    # config, every rendered text): the cyclic collector's default pace walks them again and again
    # for ~5% of a 1,000-job render or cold apply and reclaims almost nothing. Cycles are still
    # collected, ~10x less often. The console script only: importing jenkins_kit changes nothing.
    import gc

    gc.set_threshold(10_000, 50, 100)
    try:
        code = cli.main(prog_name="jenkins-kit", standalone_mode=False)
    except SystemExit:
        # click answers EPIPE on stdout with sys.exit(1) and a pacified stdout; 1 reads as a FAILURE
        # build result here, so say what happened: the reader went away (`jenkins-kit ... | head`).
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):  # click.utils._PacifyFlushWrapper: private
            _exit(_BROKEN_PIPE)
        raise
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> NoReturn:
    """End the process without tearing the interpreter down.

    Why: the teardown (every module's objects freed one by one, pydantic's and typing's many) takes
    40-50 ms after the work is done, on every command: a tenth of a cold 1,000-job apply. What of a
    normal exit matters still happens: the atexit handlers run (logging.shutdown, weakref finalizers
    such as a TemporaryDirectory's cleanup) and both streams are flushed. A thread still running (none
    of ours outlives its command) keeps the normal exit, which waits for it."""
    import atexit
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # a reader that went away (`| head`): as the command itself would say
            _quiet_stdout()
            code = code or _BROKEN_PIPE
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
