"""Secret values: resolved from references (env / file / Kubernetes Secret), never logged.

A resolved value is wrapped in `SecretValue`, whose repr/str never show it; `reveal()` is the only
way out and is called at the moment of use (a Secret's data, an HTTP auth header). Every value
resolved or generated here is remembered so `scrub()` can remove it from any text that is about
to be shown (an exception from a client library, a subprocess's stderr).
"""

from __future__ import annotations

import base64
import os
import re
import secrets as _random
import stat
import string
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jenkins_kit.config.schema import SecretRef
from jenkins_kit.errors import ExitCode, KitError

REDACTED = "<redacted>"
_KNOWN: set[str] = set()
_LOCK = threading.Lock()


class SecretError(KitError):
    exit_code = ExitCode.USAGE


class SecretValue:
    """A secret that refuses to be printed."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        if not isinstance(value, str):
            raise TypeError("secret value must be a str")
        self._value = value
        self.source = source  # a description of the reference, never the value
        remember(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretValue({REDACTED} from {self.source})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretValue):
            return _random.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("SecretValue", self._value))

    def __reduce__(self) -> Any:  # never pickled into caches or crash dumps
        raise TypeError("SecretValue cannot be pickled")


def remember(value: str) -> None:
    """Register a value so `scrub` hides it (short values would make scrubbing noisy: skip <4 chars)."""
    if value and len(value) >= 4:
        with _LOCK:
            _KNOWN.add(value)
            _KNOWN.add(base64.b64encode(value.encode()).decode())


def scrub(text: str) -> str:
    """Replace every known secret value (and its base64 form) in `text`."""
    if not text:
        return text
    with _LOCK:
        known = sorted(_KNOWN, key=len, reverse=True)
    for v in known:
        if v in text:
            text = text.replace(v, REDACTED)
    return text


def describe(ref: SecretRef) -> str:
    """A human description of where a secret comes from (safe to print)."""
    if ref.env is not None:
        return f"env ${ref.env}"
    if ref.file is not None:
        return f"file {ref.file}"
    assert ref.secret is not None
    return f"Kubernetes Secret {ref.secret.name}[{ref.secret.key}]"


SecretReader = Callable[[str, str, str], "str | None"]
"""(namespace, name, key) -> value or None; how `resolve` reads a Kubernetes Secret."""


def resolve(
    ref: SecretRef,
    *,
    namespace: str | None = None,
    read_secret: SecretReader | None = None,
    environ: dict[str, str] | None = None,
) -> SecretValue:
    """Resolve a reference to its value. Errors name the reference, never a value."""
    env = os.environ if environ is None else environ
    where = describe(ref)
    if ref.env is not None:
        value = env.get(ref.env)
        if value is None or value == "":
            raise SecretError(
                f"the secret reference {where} is not set",
                f"export {ref.env}=... in the shell that runs jenkins-kit (the value is never printed)",
            )
        return SecretValue(value, where)
    if ref.file is not None:
        path = Path(os.path.expanduser(ref.file))
        try:
            st = path.stat()
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretError(f"the secret file {path} does not exist", "create it (mode 0600) or fix the 'file:' reference") from None
        except (OSError, UnicodeDecodeError) as e:
            raise SecretError(f"cannot read the secret file {path}: {e.__class__.__name__}", "check its permissions and that it is UTF-8 text") from None
        value = raw.removesuffix("\n")
        value = value.removesuffix("\r")
        if not value:
            raise SecretError(f"the secret file {path} is empty", "write the secret into it (one line)")
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Not fatal (a lab may share a mounted secret), but worth saying.
            _warn(f"secret file {path} is readable by group/others (mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it")
        return SecretValue(value, where)
    assert ref.secret is not None
    if read_secret is None or namespace is None:
        raise SecretError(f"the secret reference {where} needs the cluster", "run this command with access to the cluster")
    value = read_secret(namespace, ref.secret.name, ref.secret.key)
    if value is None:
        raise SecretError(
            f"{where} was not found in namespace {namespace}",
            f"create it: kubectl -n {namespace} create secret generic {ref.secret.name} --from-file={ref.secret.key}=<file>",
        )
    return SecretValue(value, where)


_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = 32) -> SecretValue:
    """A random password from the OS CSPRNG: letters and digits (safe in any shell, URL or YAML)."""
    if length < 16:
        raise ValueError("refusing to generate a password shorter than 16 characters")
    while True:
        value = "".join(_random.choice(_ALPHABET) for _ in range(length))
        # At least one of each class, so picky password policies accept it.
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return SecretValue(value, "generated")


_warnings: list[str] = []


def _warn(msg: str) -> None:
    _warnings.append(msg)


def take_warnings() -> list[str]:
    """Warnings gathered while resolving (printed by the CLI)."""
    out = list(_warnings)
    _warnings.clear()
    return out


# Keys whose values are secrets in Helm values and JCasC (by name: a release we did not install, or
# JCasC edited by hand, may hold values jenkins-kit never resolved, so `scrub` cannot know them).
_SECRET_KEY = re.compile(r"(password|passwd|token|secret|apikey|api_key|privatekey|private_key)$", re.IGNORECASE)
_NOT_SECRET_KEYS = {"existingsecret", "createsecret", "additionalexistingsecrets", "secretname"}
_REFERENCE = re.compile(r"""^\s*["']?\$\{[^}]*\}["']?\s*$""")
REDACTED = "<redacted>"


def _is_secret_key(key: object) -> bool:
    k = str(key)
    return k.lower() not in _NOT_SECRET_KEYS and bool(_SECRET_KEY.search(k))


def redact_values(obj: Any, _under: str = "") -> Any:
    """A copy of Helm values with secret-looking values masked (`${...}` references are kept).

    `additionalSecrets[].value` is masked too: the chart turns those entries into Secrets.
    """
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            if (_is_secret_key(k) or (_under == "additionalSecrets" and k == "value")) and v not in (None, "") \
                    and not (isinstance(v, str) and _REFERENCE.match(v)) and not isinstance(v, (dict, list)):
                out[k] = REDACTED
            elif k == "configScripts" and isinstance(v, dict):
                out[k] = {name: redact_casc_text(text) if isinstance(text, str) else text for name, text in v.items()}
            else:
                out[k] = redact_values(v, str(k))
        return out
    if isinstance(obj, list):
        return [redact_values(v, _under) for v in obj]
    return obj


_CASC_SECRET_LINE = re.compile(
    r"""^(?P<lead>\s*(?:-\s*)?["']?(?P<key>[A-Za-z_][\w.-]*)["']?\s*:[ \t]*)(?P<value>\S.*?)\s*$""", re.MULTILINE
)


def redact_casc_text(text: str) -> str:
    """JCasC YAML text with literal secret values masked; `${...}` references stay readable."""

    def sub(m: re.Match[str]) -> str:
        value = m.group("value")
        if not _is_secret_key(m.group("key")) or _REFERENCE.match(value) or value in ("|", ">", "|-", ">-", "{}", "[]"):
            return m.group(0)
        return m.group("lead") + REDACTED

    return _CASC_SECRET_LINE.sub(sub, text)
