"""Folder paths -> Jenkins URL paths (jenkins-remote-api.md §0.1), and URL rebasing in the client."""

from __future__ import annotations

import pytest

from jenkins_kit.errors import InvalidValue
from jenkins_kit.jenkins import paths
from jenkins_kit.jenkins.client import JenkinsClient
from jenkins_kit.jenkins.settings import JenkinsSettings


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app", "job/app/"),
        ("team/app", "job/team/job/app/"),
        ("a/b/c", "job/a/job/b/job/c/"),
        ("my app", "job/my%20app/"),
        ("x+y=(z)", "job/x%2By%3D%28z%29/"),
        ("café", "job/caf%C3%A9/"),
        ("a'b\"c", "job/a%27b%22c/"),
    ],
)
def test_job_url_path(name: str, expected: str) -> None:
    assert paths.job_url_path(name) == expected
    assert JenkinsClient.job_url_path(name) == expected
    assert paths.name_from_job_path(expected) == name


@pytest.mark.parametrize("bad", ["", "/a", "a/", "a//b", "a/../b", ".", " /a"])
def test_bad_paths_refused(bad: str) -> None:
    with pytest.raises(InvalidValue):
        paths.job_url_path(bad)


def test_parent_leaf_build_queue() -> None:
    assert paths.parent_url_path("app") == ""
    assert paths.parent_url_path("a/b/c") == "job/a/job/b/"
    assert paths.leaf_name("a/b/c") == "c"
    assert paths.build_url_path("team/app", 12) == "job/team/job/app/12/"
    assert paths.build_url_path("app", "lastBuild") == "job/app/lastBuild/"
    assert paths.queue_item_path(25) == "queue/item/25/"
    assert paths.queue_id_from_location("http://j:8080/queue/item/25/") == 25
    assert paths.queue_id_from_location("https://j/ctx/queue/item/7") == 7
    with pytest.raises(ValueError):
        paths.queue_id_from_location("http://j/job/x/")


def _client(url: str) -> JenkinsClient:
    return JenkinsClient(JenkinsSettings.resolve(url=url, user="u", token="t0ken-xyz", env={}))


def test_relative_and_absolute_urls_stay_on_the_configured_host() -> None:
    c = _client("http://127.0.0.1:8080/jenkins")
    assert c.url == "http://127.0.0.1:8080/jenkins/"
    assert c.absolute_url("job/a/") == "http://127.0.0.1:8080/jenkins/job/a/"
    assert c.absolute_url("/job/a/") == "http://127.0.0.1:8080/jenkins/job/a/"
    # Same origin: kept as is (Location of a build trigger).
    assert c.absolute_url("http://127.0.0.1:8080/jenkins/queue/item/3/") == "http://127.0.0.1:8080/jenkins/queue/item/3/"
    # JSON `url` fields use the configured root URL, which may be another host: rebased, never followed.
    assert c.absolute_url("http://jenkins.lab/jenkins/job/a/1/") == "http://127.0.0.1:8080/jenkins/job/a/1/"
    assert c.rel_path("http://jenkins.lab/jenkins/job/a/1/?x=1") == "job/a/1/?x=1"
    assert c.rel_path("queue/item/3/") == "queue/item/3/"
