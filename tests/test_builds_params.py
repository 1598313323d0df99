"""Parameter validation and -p parsing (no Jenkins needed)."""

from __future__ import annotations

import pytest

from jenkins_kit.errors import ExitCode
from jenkins_kit.jenkins.builds import (
    EXIT_CODE_TABLE,
    ParameterDefinition,
    ParameterError,
    parameter_definitions,
    parse_parameter_args,
    resolve_parameters,
    result_exit_code,
)

JOB_JSON = {
    "property": [
        {},
        {
            "_class": "hudson.model.ParametersDefinitionProperty",
            "parameterDefinitions": [
                {"_class": "hudson.model.StringParameterDefinition", "name": "BRANCH", "type": "StringParameterDefinition",
                 "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "name": "BRANCH", "value": "main"}},
                {"_class": "hudson.model.BooleanParameterDefinition", "name": "DEPLOY", "type": "BooleanParameterDefinition",
                 "defaultParameterValue": {"name": "DEPLOY", "value": False}},
                {"_class": "hudson.model.ChoiceParameterDefinition", "name": "ENV", "type": "ChoiceParameterDefinition",
                 "choices": ["dev", "prod"], "defaultParameterValue": {"name": "ENV", "value": "dev"}},
                {"_class": "hudson.model.PasswordParameterDefinition", "name": "SECRET", "type": "PasswordParameterDefinition",
                 "defaultParameterValue": {"_class": "hudson.model.PasswordParameterValue", "name": "SECRET"}},
                {"_class": "hudson.model.StringParameterDefinition", "name": "TICKET", "type": "StringParameterDefinition",
                 "defaultParameterValue": None},
            ],
        },
    ]
}


def defs() -> list[ParameterDefinition]:
    return parameter_definitions(JOB_JSON)


def test_definitions_parsed() -> None:
    d = {p.name: p for p in defs()}
    assert d["BRANCH"].default_text == "main"
    assert d["DEPLOY"].default_text == "false" and d["DEPLOY"].is_boolean
    assert d["ENV"].choices == ("dev", "prod")
    assert d["SECRET"].is_password and d["SECRET"].has_default and d["SECRET"].default_text is None
    assert not d["TICKET"].has_default


def test_defaults_applied_and_password_masked() -> None:
    r = resolve_parameters("app", defs(), {"TICKET": "T-1", "SECRET": "hunter2", "DEPLOY": "YES"})
    assert r.values == {"BRANCH": "main", "DEPLOY": "true", "ENV": "dev", "SECRET": "hunter2", "TICKET": "T-1"}
    assert r.display()["SECRET"] == "********"
    assert "hunter2" not in repr(r)


def test_unknown_name_suggests() -> None:
    with pytest.raises(ParameterError) as ei:
        resolve_parameters("app", defs(), {"BRANCHE": "x", "TICKET": "1"})
    assert "did you mean 'BRANCH'" in str(ei.value)
    assert ei.value.exit_code == ExitCode.INPUT


def test_case_only_difference_suggests() -> None:
    with pytest.raises(ParameterError, match="did you mean 'ENV'"):
        resolve_parameters("app", defs(), {"env": "dev", "TICKET": "1"})


def test_missing_required() -> None:
    with pytest.raises(ParameterError, match="missing required parameter 'TICKET'"):
        resolve_parameters("app", defs(), {})


def test_bad_choice_and_boolean_all_reported() -> None:
    with pytest.raises(ParameterError) as ei:
        resolve_parameters("app", defs(), {"ENV": "prd", "DEPLOY": "maybe", "TICKET": "1"})
    assert len(ei.value.problems) == 2
    assert "did you mean 'prod'" in str(ei.value)


def test_params_on_unparameterized_job() -> None:
    with pytest.raises(ParameterError, match="not parameterized"):
        resolve_parameters("app", [], {"X": "1"})


def test_parse_args_file_and_escape(tmp_path) -> None:
    f = tmp_path / "v.txt"
    f.write_text("line1\nline2\n")
    got = parse_parameter_args(["A=1", "B=@" + str(f), "C=@@lit", "D=x=y", "E="])
    assert got == {"A": "1", "B": "line1\nline2", "C": "@lit", "D": "x=y", "E": ""}


def test_parse_args_errors(tmp_path) -> None:
    with pytest.raises(ParameterError) as ei:
        parse_parameter_args(["A=1", "A=2", "novalue", "B=@" + str(tmp_path / "missing")])
    assert len(ei.value.problems) == 3


def test_exit_codes_distinct() -> None:
    codes = [c for c, _, _ in EXIT_CODE_TABLE]
    assert len(codes) == len(set(codes))
    assert [result_exit_code(r) for r in ("SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED")] == [0, 1, 2, 3, 4]
    assert all(c >= 10 for c in codes[5:])


def test_end_aligner_bounds_extra_polls() -> None:
    from jenkins_kit.jenkins.console import EndAligner

    now = [100.0]
    a = EndAligner(expected_end=102.3, wall_clock=lambda: now[0])
    assert a.adjust(1.0) == 1.0  # end not inside this interval
    now[0] = 101.5
    assert abs(a.adjust(1.0) - 0.85) < 1e-9  # just after the predicted end
    now[0] = 102.35
    assert [a.adjust(1.0) for _ in range(5)] == [0.1, 0.2, 0.4, 1.0, 1.0]  # then back to 1 s
    assert EndAligner(None).adjust(0.5) == 0.5
