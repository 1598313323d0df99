"""The Jinja2 environment every template renders through.

StrictUndefined makes a missing variable an error, autoescape is off because each template language
needs its own escaping: templates must pass every value through one of the named filters below.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import jinja2

from jenkins_kit import escape
from jenkins_kit.cache import cache_dir, write_atomic

_PKG = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """Location of a shipped template folder (`jcasc` or `job_templates`).

    In a wheel they live in jenkins_kit/_data/<name>; in a source checkout at the repository root.
    """
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    source = _PKG.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"template folder {name!r} is missing from this installation")


FILTERS = {
    "xml": escape.xml_text,
    "xml_attr": escape.xml_attr,
    "groovy": escape.groovy_str,
    "yaml": escape.yaml_str,
    "sh": escape.shell_word,
    "jcasc": escape.jcasc_literal,
}


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's own cache of compiled templates, under the user's cache folder.

    Why: compiling the job templates is ~17 ms of every render, plan and apply, more than rendering
    a hundred jobs. Jinja keys each entry by the template's name and file and checks it against the
    source's checksum, so an edited template (ours after an upgrade, or yours) is compiled afresh.
    `JENKINS_KIT_NO_TEMPLATE_CACHE=1` turns it off; a folder that cannot be made means no cache."""
    if os.environ.get("JENKINS_KIT_NO_TEMPLATE_CACHE"):
        return None
    d = str(cache_dir("templates"))
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(d)


def make_env(*search_paths: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_paths]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(FILTERS)
    env.globals["jcasc_ref"] = escape.jcasc_ref
    return env


@lru_cache(maxsize=8)
def template_env(name: str, user_dir: str | None = None) -> jinja2.Environment:
    """Environment for a shipped folder; a user folder, when given, overrides templates by name."""
    paths = [Path(user_dir)] if user_dir else []
    return make_env(*paths, data_dir(name))


_REFS_FILE = "template-refs.json"
_REFS_KEEP = 256


@lru_cache(maxsize=1)
def _refs_memo() -> dict[str, list[str | None]]:
    if os.environ.get("JENKINS_KIT_NO_TEMPLATE_CACHE"):
        return {}
    try:
        with open(os.path.join(cache_dir("templates"), _REFS_FILE), "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and all(isinstance(v, list) and all(x is None or isinstance(x, str) for x in v) for v in data.values())
    return data if ok else {}


def referenced_templates(env: jinja2.Environment, source: str) -> list[str | None]:
    """The templates a template's source includes, imports or extends (None: a name computed at
    render time), as `jinja2.meta.find_referenced_templates` finds them.

    Why remembered (beside Jinja's compiled templates, keyed by a digest of the source and of the
    Jinja version): finding them means parsing the template, ~7 ms of every command that renders
    jobs, while the answer depends on the text alone. A syntax error raises, and is not remembered."""
    memo = _refs_memo()
    key = hashlib.sha256(f"{jinja2.__version__}\0{source}".encode("utf-8", "surrogatepass")).hexdigest()
    hit = memo.get(key)
    if hit is not None:
        return list(hit)
    from jinja2.meta import find_referenced_templates

    refs = list(find_referenced_templates(env.parse(source)))
    if not os.environ.get("JENKINS_KIT_NO_TEMPLATE_CACHE"):
        memo[key] = refs
        while len(memo) > _REFS_KEEP:
            memo.pop(next(iter(memo)))  # the oldest entry first (dicts keep insertion order)
        write_atomic(cache_dir("templates") / _REFS_FILE, json.dumps(memo).encode("utf-8"))
    return refs
