"""The call tree of rendered Jenkinsfiles as the Groovy 2.4 parser sees it (tests/fixtures/jobs/pipeline_ast.groovy),
and where each step of it runs: the container a kubernetes agent gives it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers import groovy_batch

SCRIPT = Path(__file__).parent / "fixtures" / "jobs" / "pipeline_ast.groovy"
Call = dict[str, Any]


def pipeline_calls(texts: dict[str, str]) -> dict[str, dict[str, Any]]:
    """name -> {"calls": [...]} | {"error": msg}; one JVM for the whole batch."""
    return groovy_batch(SCRIPT, texts)


def _child(call: Call, name: str) -> Call | None:
    return next((c for c in call.get("body", []) if c["name"] == name), None)


def steps_with_container(calls: list[Call]) -> Iterator[tuple[str, Call, str]]:
    """(stage name, step call, container) for every step. In a kubernetes agent the whole stage body runs in
    `defaultContainer` when set, else in 'jnlp' (KubernetesDeclarativeAgentScript#run); `container('x') {}` switches
    for its body. A stage without its own agent runs on the pipeline's agent, whose default container is jnlp."""
    pipeline = next(c for c in calls if c["name"] == "pipeline")
    stages = _child(pipeline, "stages") or {"body": []}
    for stage in stages["body"]:
        default = "jnlp"
        agent = _child(stage, "agent")
        k8s = _child(agent, "kubernetes") if agent else None
        if k8s is not None:
            dc = _child(k8s, "defaultContainer")
            if dc is not None:
                default = dc["args"][0]
        steps = _child(stage, "steps") or {"body": []}
        yield from _walk(stage["args"][0] if stage["args"] else "?", steps["body"], default)


def _walk(stage: str, body: list[Call], container: str) -> Iterator[tuple[str, Call, str]]:
    for c in body:
        if c["name"] == "container":
            yield from _walk(stage, c["body"], c["args"][0])
        else:
            yield stage, c, container
            yield from _walk(stage, c.get("body", []), container)
