"""Error rendering helpers (jenkins-remote-api.md §0.3): server messages, redaction, error classes."""

from __future__ import annotations

import pickle

import pytest

from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.jenkins import errors as jerr


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (400, {"X-Error": "A job already exists with the name ‘x’".encode().decode("latin-1")}, "", "A job already exists with the name ‘x’"),
        (403, {}, "<html><head><title>Error 403 No valid crumb was included in the request</title></head><body>"
                  "<h2>HTTP ERROR 403 No valid crumb was included in the request</h2></body></html>",
         "No valid crumb was included in the request"),
        (400, {}, "<html><head><title>Error 400 Nothing is submitted</title></head></html>", "Nothing is submitted"),
        (500, {}, "<html><head><title>Jenkins</title></head><body><h1>Oops!</h1><p>A problem occurred while processing "
                  "the request.</p><p>Logging ID=11111111-2222-3333-4444-555555555555</p></body></html>",
         "A problem occurred while processing the request (Logging ID=11111111-2222-3333-4444-555555555555)"),
        (503, {}, "<html><head><title>Starting Jenkins</title></head><body>Jenkins is getting ready to work</body></html>",
         "Jenkins is getting ready to work"),
        (403, {}, "<html><head><title>Access Denied [Jenkins]</title></head></html>", "Access Denied"),
        (403, {}, "<html><head><meta http-equiv='refresh' content='1;url=/login?from=%2F'/><script></script></head>"
                  "<body>Authentication required</body></html>", "Authentication required"),
        (409, {}, "", ""),
    ],
)
def test_server_message(status: int, headers: dict[str, str], body: str, expected: str) -> None:
    assert jerr.server_message(status, headers, body) == expected


def test_redact_url() -> None:
    assert jerr.redact_url("http://u:p@h/job/a/build?token=abc&delay=0sec") == "http://h/job/a/build?token=%2A%2A%2A&delay=0sec"
    assert jerr.redact_url("http://h/reload-configuration-as-code/?casc-reload-token=zz") == (
        "http://h/reload-configuration-as-code/?casc-reload-token=%2A%2A%2A")
    assert jerr.redact_url("http://h/job/a/?x=1") == "http://h/job/a/?x=1"


def test_error_classes_are_kiterrors_with_exit_codes() -> None:
    table = {
        jerr.AuthenticationError: ExitCode.AUTH,
        jerr.PermissionDeniedError: ExitCode.AUTH,
        jerr.CrumbError: ExitCode.AUTH,
        jerr.NotFoundError: ExitCode.NOT_FOUND,
        jerr.ServerError: ExitCode.SERVER,
        jerr.UnavailableError: ExitCode.SERVER,
        jerr.JenkinsConnectionError: ExitCode.CONNECTION,
        jerr.JenkinsTLSError: ExitCode.CONNECTION,
        jerr.JenkinsTimeoutError: ExitCode.TIMEOUT,
    }
    for cls, code in table.items():
        assert issubclass(cls, jerr.JenkinsError) and issubclass(cls, KitError)
        assert cls.exit_code == code
    assert jerr.error_class_for(400) is jerr.BadRequestError
    assert jerr.error_class_for(409) is jerr.ConflictError
    assert jerr.error_class_for(418) is jerr.JenkinsError
    assert jerr.error_class_for(599) is jerr.ServerError


def test_errors_pickle_and_keep_fields() -> None:
    e = jerr.NotFoundError("GET /job/a/: 404 no item 'a'", "create it", missing="a", status=404,
                           url="http://h/job/a/?token=s3cr3t", method="GET", server_message="Not Found")
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.status, e2.missing, e2.hint, e2.method) == (404, "a", "create it", "GET")
    assert "s3cr3t" not in e2.url
    assert str(e2) == str(e)
