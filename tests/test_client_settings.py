"""JenkinsSettings.resolve: precedence, auth kind, TLS options, and secrets kept out of sight."""

from __future__ import annotations

import logging
import pickle

import pytest

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.jenkins.settings import (
    JenkinsSettings,
    JenkinsSettingsError,
    normalize_url,
)

TOKEN = "tok-11aa22bb33cc44dd55ee"
PASSWORD = "pw-Secr3t-value-9876"


def lab(**jenkins: object) -> LabConfig:
    return LabConfig.model_validate(
        {
            "nfs": {"server": "192.168.1.10", "path": "/nfs_shared/jenkins"},
            "registry": {"address": "192.168.1.10:8443"},
            "jenkins": jenkins,
        }
    )


ENV = {"JENKINS_URL": "http://env.example:8080", "JENKINS_USER_ID": "envuser", "JENKINS_API_TOKEN": TOKEN}


def test_env_gives_token_auth_and_normalized_url() -> None:
    s = JenkinsSettings.resolve(env=ENV)
    assert s.url == "http://env.example:8080/"
    assert s.user == "envuser"
    assert s.auth == "token" and s.uses_token
    assert s.secret.reveal() == TOKEN
    assert s.verify is True and s.timeout == 30.0


def test_explicit_arguments_win_over_env_and_config() -> None:
    cfg = lab(url="http://cfg.example/", admin={"user": "cfguser"})
    s = JenkinsSettings.resolve(url="https://arg.example/jenkins", user="arguser", token="argtok-123", config=cfg, env=ENV)
    assert (s.url, s.user, s.secret.reveal(), s.auth) == ("https://arg.example/jenkins/", "arguser", "argtok-123", "token")


def test_env_wins_over_config() -> None:
    cfg = lab(url="http://cfg.example/", admin={"user": "cfguser"})
    s = JenkinsSettings.resolve(config=cfg, env=ENV)
    assert (s.url, s.user) == ("http://env.example:8080/", "envuser")


def test_config_supplies_url_user_and_password_from_env_ref() -> None:
    cfg = lab(url="http://cfg.example/", admin={"user": "cfguser", "password": {"env": "LAB_ADMIN_PW"}})
    s = JenkinsSettings.resolve(config=cfg, env={"LAB_ADMIN_PW": PASSWORD})
    assert (s.url, s.user, s.auth) == ("http://cfg.example/", "cfguser", "password")
    assert s.secret.reveal() == PASSWORD
    assert "LAB_ADMIN_PW" in s.source and PASSWORD not in s.source


def test_config_password_from_file_ref(tmp_path) -> None:
    f = tmp_path / "pw"
    f.write_text(PASSWORD + "\n")
    f.chmod(0o600)
    cfg = lab(url="http://cfg.example/", admin={"password": {"file": str(f)}})
    s = JenkinsSettings.resolve(config=cfg, env={})
    assert s.user == "admin" and s.auth == "password" and s.secret.reveal() == PASSWORD


def test_config_password_as_kubernetes_secret_is_refused_with_hint() -> None:
    cfg = lab(url="http://cfg.example/", admin={"password": {"secret": {"name": "jenkins-admin", "key": "pw"}}})
    with pytest.raises(JenkinsSettingsError) as e:
        JenkinsSettings.resolve(config=cfg, env={})
    assert "JENKINS_API_TOKEN" in (e.value.hint or "")


def test_jenkins_password_env_means_password_auth_and_token_wins_over_it() -> None:
    env = {"JENKINS_URL": "http://j/", "JENKINS_USER_ID": "u", "JENKINS_PASSWORD": PASSWORD}
    assert JenkinsSettings.resolve(env=env).auth == "password"
    assert JenkinsSettings.resolve(env={**env, "JENKINS_API_TOKEN": TOKEN}).auth == "token"


def test_no_password_argument_exists() -> None:
    with pytest.raises(TypeError):
        JenkinsSettings.resolve(url="http://j/", user="u", password=PASSWORD, env={})  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "needle", "hint"),
    [
        ({}, "no Jenkins URL", "JENKINS_URL"),
        ({"JENKINS_URL": "http://j/"}, "no Jenkins user", "JENKINS_USER_ID"),
        ({"JENKINS_URL": "http://j/", "JENKINS_USER_ID": "u"}, "no Jenkins credentials", "JENKINS_API_TOKEN"),
    ],
)
def test_missing_pieces_raise_kiterror_with_hint(env: dict[str, str], needle: str, hint: str) -> None:
    with pytest.raises(KitError) as e:
        JenkinsSettings.resolve(env=env)
    assert needle in e.value.message
    assert hint in (e.value.hint or "")
    assert e.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("bad", ["jenkins.lab", "ftp://j/", "http://u:pw@j/", "http://j/?x=1"])
def test_bad_urls_refused(bad: str) -> None:
    with pytest.raises(JenkinsSettingsError) as e:
        normalize_url(bad)
    assert "pw" not in str(e.value).replace("http", "")


def test_tls_options(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert JenkinsSettings.resolve(env=ENV, ca_bundle=str(ca)).verify == str(ca)
    assert JenkinsSettings.resolve(env=ENV, insecure=True).verify is False
    with pytest.raises(JenkinsSettingsError):
        JenkinsSettings.resolve(env=ENV, insecure=True, ca_bundle=str(ca))
    with pytest.raises(JenkinsSettingsError):
        JenkinsSettings.resolve(env=ENV, ca_bundle=str(tmp_path / "missing.pem"))


def test_timeout_and_retry_options() -> None:
    s = JenkinsSettings.resolve(env=ENV, timeout=5, retries=1, backoff_base=0.01)
    assert (s.timeout, s.retries, s.backoff_base) == (5.0, 1, 0.01)
    assert s.with_options(retries=0).retries == 0
    with pytest.raises(JenkinsSettingsError):
        JenkinsSettings.resolve(env=ENV, timeout=0)
    with pytest.raises(TypeError):
        JenkinsSettings.resolve(env=ENV, bogus=1)


def test_secret_never_in_repr_str_logs_or_pickle(caplog: pytest.LogCaptureFixture) -> None:
    s = JenkinsSettings.resolve(env=ENV)
    p = JenkinsSettings.resolve(env={"JENKINS_URL": "http://j/", "JENKINS_USER_ID": "u", "JENKINS_PASSWORD": PASSWORD})
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings %s %r %s", s, p, s.secret)
    text = repr(s) + str(s) + repr(p) + f"{s.secret}" + str(s.secret) + caplog.text + repr(vars(s) if hasattr(s, "__dict__") else "")
    assert TOKEN not in text and PASSWORD not in text
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_config_may_be_a_path(tmp_path) -> None:
    f = tmp_path / "jenkins-kit.yaml"
    f.write_text(
        "version: 1\nnfs: {server: 192.168.1.10, path: /nfs_shared/jenkins}\nregistry: {address: '192.168.1.10:8443'}\n"
        "jenkins:\n  url: http://cfg-file.example/\n  admin: {user: fileuser}\n"
    )
    s = JenkinsSettings.resolve(config=str(f), env={"JENKINS_API_TOKEN": TOKEN})
    assert (s.url, s.user, s.auth) == ("http://cfg-file.example/", "fileuser", "token")
