"""Where the toolkit finds its Jenkins: URL, credentials, TLS and retry settings.

Precedence, field by field (as jenkins-cli): explicit arguments > environment
(`JENKINS_URL`, `JENKINS_USER_ID`, `JENKINS_API_TOKEN`, or `JENKINS_PASSWORD` for password auth)
> the lab config (`jenkins.url`, `jenkins.admin.user`, and the admin password only through its
`SecretRef` of kind `env` or `file`).

A password is never taken from the command line (there is no argument for it). Credentials given
as an API token use token auth, which Jenkins exempts from CSRF crumbs; a password uses password
auth, for which the client fetches a crumb bound to a web session (jenkins-remote-api.md §1.1, §2).

Secret values live in `jenkins_kit.secrets.SecretValue`, whose repr/str are masked; `JenkinsSettings` shows none of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from jenkins_kit import secrets as _secrets
from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.secrets import SecretValue

ENV_URL = "JENKINS_URL"
ENV_USER = "JENKINS_USER_ID"
ENV_TOKEN = "JENKINS_API_TOKEN"
ENV_PASSWORD = "JENKINS_PASSWORD"

AuthKind = Literal["token", "password"]


class JenkinsSettingsError(KitError):
    """No usable URL or credentials, or contradictory TLS options."""

    exit_code = ExitCode.USAGE


# Secret values are `jenkins_kit.secrets.SecretValue` (masked repr; registered for `secrets.scrub`).
Secret = SecretValue


def normalize_url(url: str) -> str:
    """Check a Jenkins root URL and make it end with '/'. Credentials in the URL are refused."""
    u = url.strip()
    hint = "give the controller's root URL, e.g. JENKINS_URL=http://jenkins.lab:8080/"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in u):
        raise JenkinsSettingsError(f"Jenkins URL {u!r} contains whitespace or control characters", hint)
    try:
        parts = urlsplit(u)
        parts.port  # noqa: B018 - urllib checks the port only when it is read: "99999" raises here
    except ValueError as e:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        raise JenkinsSettingsError(f"Jenkins URL {_redact_url(u)!r} is malformed: {e}", hint) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JenkinsSettingsError(
            f"Jenkins URL {_redact_url(u)!r} is not an http(s) URL",
            "give the controller's root URL, e.g. JENKINS_URL=http://jenkins.lab:8080/",
        )
    if parts.username is not None or parts.password is not None:
        raise JenkinsSettingsError(
            f"Jenkins URL {_redact_url(u)!r} carries credentials",
            "put the user in JENKINS_USER_ID and the API token in JENKINS_API_TOKEN, not in the URL",
        )
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if parts.query or parts.fragment:
        raise JenkinsSettingsError(f"Jenkins URL {u!r} has a query or fragment", "give only scheme://host[:port]/[context/]")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("@", 1)[-1] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class JenkinsSettings:
    """Resolved connection settings. Build with `JenkinsSettings.resolve(...)`.

    `verify` is what requests gets: True (system CAs), a CA bundle path, or False (insecure).
    Retry knobs: `retries` attempts after the first for transient failures; backoff is
    `backoff_base * 2**n` seconds (capped at `backoff_max`) with jitter; while Jenkins answers 503
    (starting/restarting) the client keeps waiting up to `unavailable_wait` seconds in total.
    """

    url: str
    user: str
    secret: SecretValue = field(repr=False)
    auth: AuthKind = "token"
    insecure: bool = False
    ca_bundle: str | None = None
    timeout: float = 30.0
    retries: int = 4
    backoff_base: float = 0.25
    backoff_max: float = 5.0
    unavailable_wait: float = 60.0
    probe_not_found: bool = True
    source: str = field(default="", compare=False)  # where the URL/credentials came from, for messages

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle if self.ca_bundle else True

    @property
    def uses_token(self) -> bool:
        return self.auth == "token"

    def with_options(self, **changes: Any) -> JenkinsSettings:
        """A copy with some fields changed (e.g. `retries=0`, `timeout=5`)."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        return (
            f"JenkinsSettings(url={self.url!r}, user={self.user!r}, auth={self.auth!r}, secret=***, "
            f"insecure={self.insecure!r}, ca_bundle={self.ca_bundle!r}, timeout={self.timeout!r}, retries={self.retries!r})"
        )

    __str__ = __repr__

    @classmethod
    def resolve(
        cls,
        url: str | None = None,
        user: str | None = None,
        token: str | None = None,
        config: Any = None,
        insecure: bool = False,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        *,
        env: Mapping[str, str] | None = None,
        **options: Any,
    ) -> JenkinsSettings:
        """Resolve settings: explicit args > env > lab config. `config` is a LabConfig, a path to one, or None.

        `env` defaults to `os.environ` (tests pass a dict). Extra keyword `options` set the retry
        fields (`retries`, `backoff_base`, `backoff_max`, `unavailable_wait`, `probe_not_found`).
        """
        unknown = set(options) - {"retries", "backoff_base", "backoff_max", "unavailable_wait", "probe_not_found"}
        if unknown:  # there is deliberately no `password` argument: passwords never come from a command line
            raise TypeError(f"unknown JenkinsSettings option(s): {', '.join(sorted(unknown))}")
        environ: Mapping[str, str] = os.environ if env is None else env
        if isinstance(config, (str, Path)):
            from jenkins_kit.config.loader import load_config

            config = load_config(config)
        jcfg = getattr(config, "jenkins", None)
        sources: list[str] = []

        # URL
        if url:
            raw_url, sources_url = url, "argument"
        elif environ.get(ENV_URL):
            raw_url, sources_url = environ[ENV_URL], ENV_URL
        elif jcfg is not None and getattr(jcfg, "url", None):
            raw_url, sources_url = jcfg.url, "config jenkins.url"
        else:
            raise JenkinsSettingsError(
                "no Jenkins URL: none given, JENKINS_URL is not set and the lab config has no jenkins.url",
                "export JENKINS_URL=http://<controller>/ (or set jenkins.url in jenkins-kit.yaml)",
            )
        sources.append(f"url from {sources_url}")
        base = normalize_url(raw_url)

        # User
        admin = getattr(jcfg, "admin", None) if jcfg is not None else None
        if user:
            the_user, src_user = user, "argument"
        elif environ.get(ENV_USER):
            the_user, src_user = environ[ENV_USER], ENV_USER
        elif admin is not None and getattr(admin, "user", None):
            the_user, src_user = admin.user, "config jenkins.admin.user"
        else:
            raise JenkinsSettingsError(
                "no Jenkins user: none given and JENKINS_USER_ID is not set",
                "export JENKINS_USER_ID=<user> and JENKINS_API_TOKEN=<token from the user's Security page>",
            )
        sources.append(f"user from {src_user}")

        # Credentials: a token (explicit or JENKINS_API_TOKEN) wins over a password.
        auth: AuthKind
        if token:
            secret, auth, src_secret = SecretValue(token, "argument"), "token", "argument"
        elif environ.get(ENV_TOKEN):
            secret, auth, src_secret = SecretValue(environ[ENV_TOKEN], f"env ${ENV_TOKEN}"), "token", ENV_TOKEN
        elif environ.get(ENV_PASSWORD):
            secret, auth, src_secret = SecretValue(environ[ENV_PASSWORD], f"env ${ENV_PASSWORD}"), "password", ENV_PASSWORD
        else:
            found = _password_from_config(admin, environ)
            if found is None:
                raise JenkinsSettingsError(
                    f"no Jenkins credentials for user {the_user!r}: JENKINS_API_TOKEN is not set"
                    + (" and the lab config names no readable admin password" if admin is not None else ""),
                    "export JENKINS_API_TOKEN=<API token> (preferred), or JENKINS_PASSWORD, or reference the admin "
                    "password in jenkins.admin.password as {env: VAR} or {file: PATH}",
                )
            secret, src_secret = found
            auth = "password"
        sources.append(f"{auth} from {src_secret}")

        if insecure and ca_bundle:
            raise JenkinsSettingsError(
                "both --insecure and --ca-bundle given", "use --ca-bundle to trust your CA; --insecure turns verification off entirely"
            )
        if ca_bundle and not Path(ca_bundle).is_file():
            raise JenkinsSettingsError(f"CA bundle {ca_bundle!r} is not a readable file", "give the path of a PEM file with the CA certificate(s)")
        try:
            t = float(timeout)
        except (TypeError, ValueError):
            raise JenkinsSettingsError(f"timeout {timeout!r} is not a number of seconds") from None
        if not t > 0:
            raise JenkinsSettingsError(f"timeout must be positive (got {timeout!r})")
        return cls(
            url=base,
            user=the_user,
            secret=secret,
            auth=auth,
            insecure=bool(insecure),
            ca_bundle=str(ca_bundle) if ca_bundle else None,
            timeout=t,
            source="; ".join(sources),
            **options,
        )


def _password_from_config(admin: Any, environ: Mapping[str, str]) -> tuple[SecretValue, str] | None:
    ref = getattr(admin, "password", None) if admin is not None else None
    if ref is None:
        return None
    if getattr(ref, "secret", None) is not None:
        raise JenkinsSettingsError(
            "jenkins.admin.password is a Kubernetes Secret reference, which the Jenkins client does not read",
            "export JENKINS_API_TOKEN (preferred) or JENKINS_PASSWORD, or reference the password as {env: VAR} or {file: PATH}",
        )
    try:
        value = _secrets.resolve(ref, environ=dict(environ))
    except _secrets.SecretError as e:
        raise JenkinsSettingsError(
            f"jenkins.admin.password: {e.message}",
            (e.hint + "; or export JENKINS_API_TOKEN instead") if e.hint else "export JENKINS_API_TOKEN instead",
        ) from None
    return value, f"config jenkins.admin.password ({_secrets.describe(ref)})"
