"""User additions: extra JCasC fragments, extra agent pod templates and extra Helm values.

Each goes through the same checks as what jenkins-kit renders itself, and none may silently replace
what jenkins-kit manages:

- JCasC fragments (`jenkins.jcasc_files`) are walked by the JCasC schema gate (jenkins_kit/jcasc_schema.py).
  JCasC merges several files with `errorOnConflict` (configuration-as-code `yaml/MergeStrategy`): a scalar set
  in two files stops the controller with "Found conflicting configuration", and sequences are concatenated,
  so a second cloud called like ours or a credential with one of our ids is a duplicate. A fragment that
  sets one of jenkins-kit's scalars is refused unless its `override` list names that path; then the
  controller runs with `casc.merge.strategy=override` (`ConfigurationContext.CASC_MERGE_STRATEGY_PROPERTY`)
  and the user's files, sorted after jenkins-kit's (`ConfigurationAsCode#configs` sorts by path), win.
- Pod templates (`agents.pod_templates`) are PodTemplate mappings checked at
  `jenkins.clouds[].kubernetes.templates[]` and appended to jenkins-kit's cloud; one named like
  jenkins-kit's own template replaces it only with `override: true`.
- Helm values (`jenkins.helm_values`) must be keys of the official chart's values.yaml (vendored in
  schemas/jenkins-chart-values-5.9.53.json) and are deep-merged over jenkins-kit's; a key jenkins-kit sets is
  refused unless `jenkins.helm_values_override` lists it.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jenkins_kit import jcasc_schema
from jenkins_kit.errors import ConfigError, ConfigProblem

CHART_VALUES_FILE = Path(__file__).parent / "schemas" / "jenkins-chart-values-5.9.53.json"
TEMPLATES_PATH = "jenkins.clouds[].kubernetes.templates[]"
# Kubernetes objects the chart passes through whole (its values.yaml shows an example, not a closed set of keys).
FREE_FORM = {"resources", "affinity", "securityContext", "containerSecurityContext", "podSecurityContextOverride",
             "startupProbe", "livenessProbe", "readinessProbe"}
# Managed Helm values a user should set elsewhere in the config, and where.
USE_INSTEAD = {
    "controller.JCasC.configScripts": "jenkins.jcasc_files (checked by the JCasC schema gate)",
    "controller.installPlugins": "jenkins.plugins (checked against the pin table)",
}

Issue = tuple[tuple[Any, ...], str, str | None]  # (location relative to the field, message, hint)


# ------------------------------------------------------------------------------------------- Helm values


def values_shape(values: Any, name: str = "") -> Any:
    """The key structure of chart values: a mapping for a mapping with keys, else 'free' (an empty mapping or a
    pass-through Kubernetes object), 'list', 'scalar' or 'null'."""
    if isinstance(values, dict):
        if not values or name in FREE_FORM:
            return "free"
        return {k: values_shape(v, k) for k, v in values.items()}
    if isinstance(values, list):
        return "list"
    return "null" if values is None else "scalar"


@lru_cache(maxsize=1)
def chart_shape() -> dict[str, Any]:
    return json.loads(CHART_VALUES_FILE.read_text(encoding="utf-8"))["shape"]


def _leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for k, v in values.items():
        p = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v and p not in USE_INSTEAD:
            out.extend(_leaves(v, p))
        else:
            out.append(p)
    return out


def check_helm_values(user: dict[str, Any], managed: dict[str, Any], override: list[str]) -> list[Issue]:
    """Unknown chart keys, wrong kinds, and keys jenkins-kit sets that `override` does not name."""
    issues: list[Issue] = []

    def walk(v: Any, shape: Any, loc: tuple[str, ...]) -> None:
        path = ".".join(loc)
        if isinstance(shape, dict):
            if not isinstance(v, dict):
                if v is not None:
                    issues.append((loc, f"the chart expects a mapping at {path}, got {type(v).__name__} {v!r}", None))
                return
            for k, sub in v.items():
                if k not in shape:
                    close = difflib.get_close_matches(str(k), list(shape), n=1, cutoff=0.6)
                    issues.append((loc + (k,), f"{'.'.join(loc + (k,))} is not a key of the jenkins chart 5.9.53's values",
                                   f"did you mean {'.'.join(loc + (close[0],))!r}?" if close else
                                   f"keys at {path or 'the top level'}: {', '.join(sorted(shape))}"))
                    continue
                walk(sub, shape[k], loc + (str(k),))
        elif shape == "free":
            if v is not None and not isinstance(v, dict):
                issues.append((loc, f"the chart expects a mapping at {path}, got {v!r}", None))
        elif shape == "list":
            if v is not None and not isinstance(v, list):
                issues.append((loc, f"the chart expects a list at {path}, got {v!r}", None))
        elif shape == "scalar" and isinstance(v, (dict, list)):
            issues.append((loc, f"the chart expects a single value at {path}, not a {type(v).__name__}", None))

    walk(user, chart_shape(), ())
    if issues:
        return issues
    taken = set(override)
    for leaf in _leaves(user):
        for m in _leaves(managed):
            if leaf == m or m.startswith(leaf + ".") or leaf.startswith(m + "."):
                if not any(leaf == o or leaf.startswith(o + ".") for o in taken):
                    why = f"use {USE_INSTEAD[m]} instead" if m in USE_INSTEAD else (
                        f"to replace jenkins-kit's value, add {leaf!r} to jenkins.helm_values_override")
                    issues.append((tuple(leaf.split(".")), f"{leaf} is set by jenkins-kit ({m})", why))
                break
    return issues


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# ------------------------------------------------------------------------------------------- pod templates


def check_pod_template(template: dict[str, Any], managed_names: set[str], override: bool) -> list[Issue]:
    issues: list[Issue] = [(i.loc, i.message, i.hint) for i in jcasc_schema.check(template, TEMPLATES_PATH)]
    name = template.get("name")
    if not isinstance(name, str) or not name:
        issues.append((("name",), "a pod template needs a name (what inheritFrom and the stable id use)", None))
    elif name in managed_names and not override:
        issues.append((("name",), f"{name!r} is jenkins-kit's own pod template",
                       "pick another name, or set override: true on this entry to replace jenkins-kit's template"))
    label = template.get("label")
    taken = set(str(label).split()) & managed_names if isinstance(label, str) else set()
    if taken and not override:
        # the generated pipelines ask for `agent { label '<agents.label>' }`: a second template with that label
        # could run them in a pod without the builder and kubectl containers
        issues.append((("label",), f"label {sorted(taken)[0]!r} selects jenkins-kit's own pod template",
                       "use another label, or set override: true on this entry to replace jenkins-kit's template"))
    return issues


# ------------------------------------------------------------------------------------------- JCasC fragments


def fragment_key(file: str) -> str:
    """configScripts key (a file name in the controller's casc_configs): after jenkins-kit's in sort order."""
    stem = Path(file).name.rsplit(".", 1)[0].lower()
    return "user-" + (re.sub(r"[^a-z0-9-]+", "-", stem).strip("-") or "fragment")


def _scalar_paths(data: Any, path: str = "", loc: tuple[Any, ...] = ()) -> dict[str, tuple[Any, ...]]:
    """Schema path -> location of every value a merge treats as a scalar (everything that is not a mapping
    merged key by key). Sequence items are not followed: sequences are concatenated."""
    out: dict[str, tuple[Any, ...]] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            if isinstance(v, dict):
                out.update(_scalar_paths(v, p, loc + (k,)))
            elif not isinstance(v, list):
                out[p] = loc + (k,)
    return out


def _named_items(docs: list[Any]) -> dict[str, set[str]]:
    """Identities in sequences that concatenate: cloud names and credential ids."""
    clouds, creds = set(), set()
    for d in docs:
        if not isinstance(d, dict):
            continue
        for c in (d.get("jenkins") or {}).get("clouds") or [] if isinstance(d.get("jenkins"), dict) else []:
            if isinstance(c, dict):
                for body in c.values():
                    if isinstance(body, dict) and body.get("name"):
                        clouds.add(str(body["name"]))
        system = ((d.get("credentials") or {}) if isinstance(d.get("credentials"), dict) else {}).get("system") or {}
        for dc in system.get("domainCredentials") or [] if isinstance(system, dict) else []:
            for cred in (dc or {}).get("credentials") or [] if isinstance(dc, dict) else []:
                if isinstance(cred, dict):
                    for body in cred.values():
                        if isinstance(body, dict) and body.get("id"):
                            creds.add(str(body["id"]))
    return {"cloud": clouds, "credential": creds}


def parse_managed(managed_docs: dict[str, str]) -> dict[str, Any]:
    """jenkins-kit's fragments, parsed once (libyaml when present)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {k: yaml.load(v, Loader=loader) for k, v in managed_docs.items()}  # noqa: S506 - a safe loader


def check_fragment(text: str, file: str, managed: dict[str, Any], override: list[str]) -> list[ConfigProblem]:
    """Problems of one user JCasC fragment, positioned in that file. `managed`: parse_managed(jenkins-kit's)."""
    import yaml

    try:
        data, pos = jcasc_schema.load_positions(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        return [ConfigProblem(file, mark.line + 1 if mark else None, mark.column + 1 if mark else None, "",
                              f"not valid YAML: {e.problem or e.context}")]
    except yaml.YAMLError as e:
        return [ConfigProblem(file, None, None, "", f"not valid YAML: {e}")]
    problems = []
    for i in jcasc_schema.check(data):
        line, col = pos.at(i.loc, prefer_key=i.on_key)
        problems.append(ConfigProblem(file, line, col, i.path, i.message, i.hint))
    if problems or not isinstance(data, dict):
        return problems
    cac = data.get("configuration-as-code")
    if isinstance(cac, dict) and any(cac.get(k) not in (None, "reject") for k in ("unknown", "deprecated", "restricted")):
        line, col = pos.at(("configuration-as-code",))
        problems.append(ConfigProblem(file, line, col, "configuration-as-code", "relaxes JCasC's rejection of unknown, "
                                      "deprecated or restricted attributes for every file, jenkins-kit's included",
                                      "remove it: jenkins-kit checks every fragment against the plugins' schema instead"))
    ours = list(managed.values())
    owner: dict[str, str] = {}
    for key, doc in managed.items():
        for p in _scalar_paths(doc):
            owner[p] = key
    for p, loc in _scalar_paths(data).items():
        hit = next((m for m in owner if m == p or m.startswith(p + ".") or p.startswith(m + ".")), None)
        if hit is not None and p not in override and hit not in override:
            line, col = pos.at(loc)
            problems.append(ConfigProblem(file, line, col, p, f"sets {hit}, which jenkins-kit's {owner[hit]} fragment sets "
                                          "(JCasC would stop with 'Found conflicting configuration')",
                                          f"drop it, or add {hit!r} to this file's override list in jenkins.jcasc_files"))
    theirs, mine = _named_items([data]), _named_items(ours)
    for kind in ("cloud", "credential"):
        for name in sorted(theirs[kind] & mine[kind]):
            problems.append(ConfigProblem(file, None, None, "", f"a {kind} named {name!r} is jenkins-kit's; JCasC "
                                          "concatenates lists, so this would be a second one", f"use another {kind} name"))
    return problems


def read_fragments(cfg: Any, base_dir: Path | None) -> dict[str, tuple[str, str]]:
    """configScripts key -> (path shown to the user, text) of every `jenkins.jcasc_files` entry."""
    out: dict[str, tuple[str, str]] = {}
    for entry in cfg.jenkins.jcasc_files:
        p = Path(entry.file).expanduser()
        if not p.is_absolute() and base_dir is not None:
            p = Path(base_dir) / p
        out[fragment_key(entry.file)] = (str(p), p.read_text(encoding="utf-8"))
    return out


def check_fragments(cfg: Any, base_dir: Path | None, config_file: str) -> None:
    """Raise ConfigError for every problem of the user's JCasC files (the config's other additions are checked
    by the schema's validators while loading)."""
    if not cfg.jenkins.jcasc_files:
        return
    from jenkins_kit.render.jcasc import render_managed_jcasc

    problems: list[ConfigProblem] = []
    managed = parse_managed(render_managed_jcasc(cfg))
    try:
        _, cpos = jcasc_schema.load_positions(Path(config_file).read_text(encoding="utf-8"))
    except Exception:  # the loader has read it already; positions are a courtesy
        cpos = jcasc_schema.KeyFirstPositions()
    seen: dict[str, int] = {}
    for i, entry in enumerate(cfg.jenkins.jcasc_files):
        key = fragment_key(entry.file)
        line, col = cpos.at(("jenkins", "jcasc_files", i, "file"))
        if key in seen:
            problems.append(ConfigProblem(config_file, line, col, f"jenkins.jcasc_files[{i}].file",
                                          f"{entry.file!r} has the same file name as jenkins.jcasc_files[{seen[key]}]",
                                          "the controller reads them from one folder: rename one"))
            continue
        seen[key] = i
        p = Path(entry.file).expanduser()
        if not p.is_absolute() and base_dir is not None:
            p = Path(base_dir) / p
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            problems.append(ConfigProblem(config_file, line, col, f"jenkins.jcasc_files[{i}].file",
                                          f"cannot read {str(p)!r}: {getattr(e, 'strerror', None) or e}",
                                          "paths are relative to the config file's folder"))
            continue
        problems.extend(check_fragment(text, str(p), managed, list(entry.override)))
    if problems:
        raise ConfigError(problems)
