"""`-v`/`--debug`/`JENKINS_KIT_LOG`: one logging set-up for every command, secrets masked.

The Jenkins client logs retries (INFO) and every request (DEBUG); urllib3 logs connections. Python
warnings (urllib3's InsecureRequestWarning, our InsecureJenkinsWarning) are captured into logging, and
a message is printed once per process however many times it is raised or logged.
"""

from __future__ import annotations

import logging
import os
import re
import sys

_LEVELS = {"": logging.WARNING, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG, "error": logging.ERROR}
_state = {"debug": False}

# Credentials in URLs (user:token@host), Authorization headers and secret-looking query values.
_URL_CRED = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/@\s:]+:[^/@\s]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:basic|bearer|token)\s+)[A-Za-z0-9+/=._\-]+")
_QUERY = re.compile(r"(?i)\b(token|password|j_password|api_token|secret)=[^&\s\"']*")


def mask(text: str) -> str:
    """Mask every secret we know of (resolved values, the API token in the environment) and the
    shapes secrets take in HTTP traffic."""
    from jenkins_kit import secrets

    text = secrets.scrub(text)
    token = os.environ.get("JENKINS_API_TOKEN")
    if token and len(token) >= 4:
        text = text.replace(token, secrets.REDACTED)
    text = _URL_CRED.sub(r"\1***@", text)
    text = _AUTH_HEADER.sub(r"\1***", text)
    return _QUERY.sub(lambda m: f"{m.group(1)}=***", text)


class _Once(logging.Filter):
    """Masks secrets and drops a message already printed (warnings raised per client or request)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is printed as is
            return True
        if record.name == "py.warnings":  # "file:line: Category: message\n  source line"
            m = re.search(r"\d+: \w+: (.*)", text.splitlines()[0] if text else "")
            text = m.group(1) if m else text
        text = mask(text)
        if record.levelno >= logging.WARNING:
            if text in self._seen:
                return False
            self._seen.add(text)
        record.msg, record.args = text, None
        return True


def debug_enabled() -> bool:
    return _state["debug"] or os.environ.get("JENKINS_KIT_LOG", "").strip().lower() == "debug"


def setup_logging(*, verbose: int = 0, debug: bool = False) -> None:
    env = os.environ.get("JENKINS_KIT_LOG", "").strip().lower()
    level = _LEVELS.get(env, logging.WARNING)
    if verbose == 1:
        level = min(level, logging.INFO)
    elif verbose >= 2 or debug:
        level = logging.DEBUG
    _state["debug"] = debug or env == "debug"
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_jenkins_kit", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._jenkins_kit = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s" if level > logging.DEBUG else "%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Once())
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that are chatty at INFO stay at WARNING unless --debug/-vv.
    for name in ("urllib3", "kubernetes"):
        logging.getLogger(name).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)
