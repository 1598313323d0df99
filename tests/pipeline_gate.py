"""Check a declarative Jenkinsfile's call tree (tests/pipeline_ast.py) against what the pipeline plugins
accept (tests/fixtures/schemas/pipeline.json, vendored from the reference with source citations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "schemas" / "pipeline.json").read_text(encoding="utf-8"))
Call = dict[str, Any]


def check_pipeline(calls: list[Call]) -> list[str]:
    """Problems, each 'where: what'. Empty means every section, agent parameter and step is one the plugins accept."""
    out: list[str] = []
    top = [c for c in calls if c["name"] != "<stmt:ExpressionStatement>"]
    pipes = [c for c in top if c["name"] == "pipeline"]
    if len(pipes) != 1 or len(top) != 1:
        return [f"<file>: expected exactly one top-level pipeline {{}} block, got {[c['name'] for c in top]}"]
    _sections(pipes[0]["body"], SCHEMA["pipeline_sections"]["names"], "pipeline", out)
    for c in pipes[0]["body"]:
        if c["name"] == "agent":
            _agent(c, "pipeline.agent", out)
        elif c["name"] == "stages":
            _stages(c, "pipeline.stages", out)
    return out


def _sections(body: list[Call], allowed: list[str], where: str, out: list[str]) -> None:
    seen: set[str] = set()
    for c in body:
        if c["name"] not in allowed:
            out.append(f"{where}: unknown section {c['name']!r} (allowed: {', '.join(allowed)})")
        elif c["name"] in seen:
            out.append(f"{where}: section {c['name']!r} appears twice")
        seen.add(c["name"])


def _stages(stages: Call, where: str, out: list[str]) -> None:
    for st in stages["body"]:
        if st["name"] != "stage" or len(st["args"]) != 1:
            out.append(f"{where}: expected stage('name') {{...}}, got {st['name']} {st['args']}")
            continue
        here = f"{where}.stage({st['args'][0]!r})"
        _sections(st["body"], SCHEMA["stage_sections"]["names"], here, out)
        for c in st["body"]:
            if c["name"] == "agent":
                _agent(c, here + ".agent", out)
            elif c["name"] == "steps":
                _steps(c["body"], here + ".steps", out)
            elif c["name"] == "input":
                _stage_input(c, here + ".input", out)
            elif c["name"] == "when":
                _when(c, here + ".when", out)
            elif c["name"] == "stages":
                _stages(c, here + ".stages", out)


def _stage_input(inp: Call, where: str, out: list[str]) -> None:
    spec = SCHEMA["stage_input"]
    names = [c["name"] for c in inp["body"]]
    for c in inp["body"]:
        if c["name"] not in spec["named"]:
            out.append(f"{where}: unknown parameter {c['name']!r} (accepted: {', '.join(spec['named'])})")
        elif c["name"] != "parameters" and (len(c["args"]) != 1 or c["body"] or c["named"]):
            out.append(f"{where}.{c['name']}: takes one value")
    for r in spec["required"]:
        if r not in names:
            out.append(f"{where}: missing {r!r}")


def _when(when: Call, where: str, out: list[str]) -> None:
    conds = SCHEMA["when_conditions"]
    for c in when["body"]:
        spec = conds.get(c["name"])
        if spec is None:
            out.append(f"{where}: condition {c['name']!r} is not one jenkins-kit's schema knows")
        elif spec.get("body") and (c["args"] or c["named"]):
            out.append(f"{where}.{c['name']}: takes a block only")


def _agent(agent: Call, where: str, out: list[str]) -> None:
    kinds = SCHEMA["agents"]
    if agent["args"] and not agent["body"]:  # agent any / agent none
        if agent["args"][0] not in ("<var:any>", "<var:none>"):
            out.append(f"{where}: unknown agent {agent['args'][0]!r}")
        return
    if len(agent["body"]) != 1:
        out.append(f"{where}: exactly one agent type expected, got {[c['name'] for c in agent['body']]}")
        return
    a = agent["body"][0]
    spec = kinds.get(a["name"])
    if spec is None:
        out.append(f"{where}: unknown agent type {a['name']!r} (known: {', '.join(kinds)})")
        return
    if "params" not in spec:
        if len(a["args"]) != spec["positional"] or a["body"] or a["named"]:
            out.append(f"{where}.{a['name']}: takes {spec['positional']} argument(s)")
        return
    for p in a["body"]:
        name = p["name"]
        if name in spec["deprecated"]:
            out.append(f"{where}.{a['name']}.{name}: deprecated ({spec['deprecated'][name]})")
        elif name not in spec["params"]:
            out.append(f"{where}.{a['name']}: unknown parameter {name!r}")
        elif len(p["args"]) != 1 or p["body"] or p["named"]:
            out.append(f"{where}.{a['name']}.{name}: takes one value")
        elif not _fits(spec["params"][name], p["args"][0]):
            out.append(f"{where}.{a['name']}.{name}: expected a {spec['params'][name]}, got {p['args'][0]!r}")


def _fits(kind: str, arg: str) -> bool:
    """A parameter value as pipeline_ast.groovy prints it (a constant's text) against its declared type."""
    if kind == "boolean":
        return arg in ("true", "false")
    if kind == "integer":
        return arg.lstrip("-").isdigit()
    return True


def _steps(body: list[Call], where: str, out: list[str]) -> None:
    for c in body:
        spec = SCHEMA["steps"].get(c["name"])
        if spec is None:
            out.append(f"{where}: step {c['name']!r} is not one jenkins-kit's schema knows")
            continue
        here = f"{where}.{c['name']}"
        unknown = [k for k in c["named"] if k not in spec["named"]]
        if unknown:
            out.append(f"{here}: unknown argument(s) {unknown} (accepted: {', '.join(spec['named'])})")
        if c["named"] and c["args"]:
            out.append(f"{here}: mixes named and positional arguments")
        elif not c["named"] and len(c["args"]) != spec["positional"]:
            out.append(f"{here}: expected {spec['positional']} positional argument(s), got {len(c['args'])}")
        missing = [k for k in spec.get("required", []) if c["named"] and k not in c["named"]]
        if missing:
            out.append(f"{here}: missing required argument(s) {missing}")
        if c["body"] and not spec["body"]:
            out.append(f"{here}: takes no block")
        if spec["body"]:
            _steps(c["body"], here, out)
