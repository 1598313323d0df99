"""The lean transport under JenkinsClient sends what requests sent and reads answers the same way:
redirects, compressed bodies, cookies, query encoding, headers, and threads sharing one client.
Against a scripted HTTP server (the fault and conformance suites cover retries and crumbs)."""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

import requests

from tests.test_client_transport import _H, _client, _Server, server  # noqa: F401 - `server` is a fixture


def _json(h: _H, data: Any, **headers: str) -> None:
    h.reply(200, json.dumps(data), {"Content-Type": "application/json;charset=utf-8", **headers})


def test_get_follows_a_redirect_and_post_does_not(server: _Server) -> None:  # noqa: F811
    server.routes[("GET", "/old/api/json")] = lambda h: h.reply(302, "", {"Location": "/new/api/json"})
    server.routes[("GET", "/new/api/json")] = lambda h: _json(h, {"where": "new"})
    server.routes[("POST", "/job/a/build")] = lambda h: h.reply(302, "", {"Location": "/job/a/"})
    c = _client(server)
    assert c.get_json("old") == {"where": "new"}
    r = c.post("job/a/build")
    assert r.status_code == 302 and server.count("GET", "/job/a/") == 0


def test_compressed_body_and_charset_are_decoded(server: _Server) -> None:  # noqa: F811
    body = gzip.compress("<description>café ☃</description>".encode("utf-8"))
    server.routes[("GET", "/job/a/config.xml")] = lambda h: h.reply(
        200, body, {"Content-Type": "application/xml;charset=UTF-8", "Content-Encoding": "gzip"})
    c = _client(server)
    assert c.get_text("job/a/config.xml") == "<description>café ☃</description>"


def test_query_headers_and_body_are_what_requests_would_send(server: _Server) -> None:  # noqa: F811
    seen: dict[str, Any] = {}

    def record(h: _H) -> None:
        seen.update(path=h.path, headers=dict(h.headers), body=h.body)
        h.reply(200, "")

    server.routes[("POST", "/job/team/createItem")] = record
    c = _client(server)
    c.post_xml("job/team/createItem", "<flow-definition>é</flow-definition>", params={"name": "a b&c", "mode": None})
    ref = requests.Request("POST", "http://x/job/team/createItem", params={"name": "a b&c", "mode": None}).prepare()
    assert seen["path"] == ref.path_url  # same encoding, None dropped
    assert seen["body"] == "<flow-definition>é</flow-definition>".encode()
    h = {k.lower(): v for k, v in seen["headers"].items()}
    assert h["content-type"] == "text/xml; charset=utf-8" and h["content-length"] == str(len(seen["body"]))
    assert h["user-agent"].startswith("jenkins-kit/") and h["authorization"].startswith("Basic ")
    assert "gzip" in h["accept-encoding"]


def test_session_cookie_is_kept_and_sent_by_every_thread(server: _Server) -> None:  # noqa: F811
    cookies: list[str | None] = []
    lock = threading.Lock()

    def crumb(h: _H) -> None:
        _json(h, {"crumb": "c1", "crumbRequestField": "Jenkins-Crumb"}, **{"Set-Cookie": "JSESSIONID.ab12=node0xyz; Path=/; HttpOnly"})

    def post(h: _H) -> None:
        with lock:
            cookies.append(h.headers.get("Cookie"))
        h.reply(200, "") if h.headers.get("Jenkins-Crumb") == "c1" else h.reply(403, "No valid crumb was included in the request")

    server.routes[("GET", "/crumbIssuer/api/json")] = crumb
    server.routes[("POST", "/job/a/disable")] = post
    c = _client(server, password=True)
    threads = [threading.Thread(target=lambda: [c.post("job/a/disable", idempotent=True) for _ in range(5)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(cookies) == 40 and set(cookies) == {"JSESSIONID.ab12=node0xyz"}
    assert server.count("GET", "/crumbIssuer/api/json") == 1


def test_a_raw_space_or_non_ascii_in_a_path_is_quoted_as_requests_did(server: _Server) -> None:  # noqa: F811
    server.routes[("GET", "/job/caf%C3%A9%20x/api/json")] = lambda h: _json(h, {"ok": True})
    c = _client(server)
    assert c.get_json("job/café x/") == {"ok": True}
