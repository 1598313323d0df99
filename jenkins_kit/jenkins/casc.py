"""The configuration-as-code plugin's check and reload endpoints, as the plugin implements them.

Source: jenkinsci/configuration-as-code-plugin @f6de120e (2115.vf6de120eef70, the chart 5.9.53 pin),
plugin/src/main/java/io/jenkins/plugins/casc/ConfigurationAsCode.java:

- `POST /configuration-as-code/check` (`doCheck`, @RequirePOST, Overall/Administer else 403): the request
  body is the YAML. 200 with a JSON array of `{"line", "message"}` warnings (`[]` when clean); a
  ConfiguratorException (unknown attribute, unknown root, bad value) is **400** with
  `[{"line": -1, "message": e.getMessage()}]`. Before 1947.v7d33fe23569c the plugin answered 200 with
  `{"line", "warning"}` entries and let a ConfiguratorException become a 500 (remote-api reference §6.3):
  both shapes are read.
- `POST /configuration-as-code/reload` (`doReload`, @RequirePOST, Overall/Manage else 403): re-reads the
  configured sources (CASC_JENKINS_CONFIG). Success is a **302** to `/configuration-as-code/`; a
  ConfiguratorException is rendered by `error.jelly` with status **200**: "Error loading configuration",
  the exception's message, the configurator (`target`), "Attribute was:" and "Valid attributes are:".
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from jenkins_kit.errors import KitError

CHECK = "configuration-as-code/check"
RELOAD = "configuration-as-code/reload"


@dataclass(frozen=True)
class CheckResult:
    """What the controller's configuration-as-code check said about one document."""

    accepted: bool
    status: int
    problems: list[str] = field(default_factory=list)  # why it was rejected
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.accepted:
            return "rejected: " + "; ".join(self.problems)
        return "accepted" + (f" with {len(self.warnings)} warning(s): " + "; ".join(self.warnings) if self.warnings else "")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    message: str


def _entries(body: str) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else None


def _line(e: dict[str, Any]) -> str:
    text = str(e.get("message") if "message" in e else e.get("warning", ""))
    line = e.get("line")
    return f"line {line}: {text}" if isinstance(line, int) and line >= 0 else text


def check(client: Any, text: str) -> CheckResult:
    """POST one JCasC document to the check endpoint. Changes nothing on the controller."""
    resp = client.post(CHECK, data=text.encode("utf-8"), headers={"Content-Type": "application/x-yaml; charset=utf-8"},
                       idempotent=True, allow_statuses=(400, 500))
    body = resp.text
    entries = _entries(body)
    if resp.status_code == 200 and entries is not None:
        return CheckResult(True, 200, warnings=[_line(e) for e in entries])
    if resp.status_code == 400 and entries is not None:
        return CheckResult(False, 400, problems=[_line(e) for e in entries] or ["rejected without a message"])
    if resp.status_code == 500:
        return CheckResult(False, 500, problems=["the controller failed to check it (HTTP 500: a configuration-as-code "
                                                 "plugin older than 1947 reports a rejected document this way, without detail)"])
    raise KitError(f"POST /{CHECK}: unexpected HTTP {resp.status_code} ({resp.headers.get('Content-Type', 'no content type')})",
                   "is the configuration-as-code plugin installed on this controller?")


_TAG = re.compile(r"<[^>]+>")


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def parse_reload_error(page: str) -> str:
    """The message of configuration-as-code's error.jelly page ('' when the page is not that page)."""
    if "Error loading configuration" not in page:
        return ""
    m = re.search(r"<p>(.*?)<pre><code>(.*?)</code></pre>", page, re.S)
    parts: list[str] = []
    if m:
        msg, target = _text(m.group(1)), _text(m.group(2))
        parts.append(f"{target}: {msg}" if target else msg)
    a = re.search(r"Attribute was:\s*<pre><code>(.*?)</code></pre>", page, re.S)
    if a:
        parts.append(f"attribute {_text(a.group(1))!r}")
    v = re.search(r"Valid attributes are:(.*?)</ul>", page, re.S)
    if v:
        items = [_text(i) for i in re.findall(r"<li>(.*?)</li>", v.group(1), re.S)]
        parts.append("valid attributes: " + ", ".join(items))
    return "; ".join(parts) or "Error loading configuration"


def reload(client: Any) -> ReloadResult:
    """POST the reload endpoint and read which of its two answers came back."""
    resp = client.post(RELOAD, allow_redirects=False)
    if resp.status_code in (301, 302, 303):
        return ReloadResult(True, "configuration reloaded")
    page = resp.text
    why = parse_reload_error(page)
    if why:
        return ReloadResult(False, f"the controller refused the configuration: {why}")
    return ReloadResult(False, f"unexpected answer HTTP {resp.status_code} from POST /{RELOAD}")
