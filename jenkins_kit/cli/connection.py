"""One set of connection options for every command that talks to Jenkins (docs/cli.md).

`--url`, `--insecure`, `--ca-bundle`, `--request-timeout` (the bound of one HTTP request). A command's
own `--timeout`, where it has one, bounds the whole command. Credentials never come from options:
JENKINS_USER_ID and JENKINS_API_TOKEN (or the lab config's references), as jenkins-cli does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class Connection:
    url: str | None = None
    insecure: bool = False
    ca_bundle: str | None = None
    request_timeout: float = 30.0

    def settings(self, config: Any = None, **options: Any) -> Any:
        from jenkins_kit.jenkins.settings import JenkinsSettings

        return JenkinsSettings.resolve(url=self.url, config=config, insecure=self.insecure, ca_bundle=self.ca_bundle,
                                       timeout=self.request_timeout, **options)


def connection_options(f: Any) -> Any:
    """Adds the four options; the callback receives `conn: Connection`."""
    import functools

    @functools.wraps(f)
    def wrapper(*args: Any, url: str | None, insecure: bool, ca_bundle: str | None, request_timeout: float | None,
                timeout_alias: float | None = None, **kwargs: Any) -> Any:
        rt = request_timeout if request_timeout is not None else (timeout_alias if timeout_alias is not None else 30.0)
        return f(*args, conn=Connection(url, insecure, ca_bundle, rt), **kwargs)

    opts = [
        click.option("--url", metavar="URL", help="Jenkins root URL (default: JENKINS_URL, then jenkins.url in the config)."),
        click.option("--insecure", is_flag=True, help="Do not verify Jenkins' TLS certificate (warned once; prefer --ca-bundle)."),
        click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True), metavar="PEM",
                     help="CA certificates to verify Jenkins' TLS certificate with."),
        click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SEC",
                     help="Give up on one HTTP request after SEC seconds (default 30)."),
    ]
    for o in reversed(opts):
        wrapper = o(wrapper)
    return wrapper


def timeout_alias(f: Any) -> Any:
    """`--timeout` as a hidden alias of --request-timeout, for commands where it used to mean that."""
    return click.option("--timeout", "timeout_alias", type=click.FloatRange(min=0, min_open=True), default=None, hidden=True)(f)
