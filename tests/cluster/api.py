"""A very small JSON client for the lab kube-apiserver (stdlib only).

The harness must work before any project dependency is installed, so it talks to the
apiserver with ``http.client`` and a client certificate instead of the ``kubernetes`` package.
Tests that prefer the official client can build one from ``LabCluster.kubeconfig``.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from typing import Any


class ApiError(Exception):
    def __init__(self, method: str, path: str, status: int, body: Any):
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: HTTP {status}: {message}")

    @property
    def reason(self) -> str | None:
        return self.body.get("reason") if isinstance(self.body, dict) else None


PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class ApiClient:
    """``client.get("/api/v1/namespaces/default")`` and friends. Paths are absolute API paths."""

    def __init__(
        self,
        host: str,
        port: int,
        ca_file: str,
        cert_file: str,
        key_file: str,
        timeout: float = 30.0,
    ):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._ctx = ssl.create_default_context(cafile=ca_file)
        self._ctx.load_cert_chain(cert_file, key_file)

    # -- plumbing ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        content_type: str = "application/json",
        raw: bool = False,
    ) -> Any:
        if query:
            path = (
                path
                + "?"
                + urllib.parse.urlencode(
                    {k: v for k, v in query.items() if v is not None}
                )
            )
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            headers["Content-Type"] = content_type
        conn = http.client.HTTPSConnection(
            self.host, self.port, context=self._ctx, timeout=self.timeout
        )
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        finally:
            conn.close()
        if raw:
            if resp.status >= 400:
                raise ApiError(
                    method, path, resp.status, payload.decode(errors="replace")
                )
            return payload.decode(errors="replace")
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        if resp.status >= 400:
            raise ApiError(method, path, resp.status, parsed)
        return parsed

    # -- verbs ------------------------------------------------------------------------------------

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query or None)

    def get_or_none(self, path: str) -> Any:
        try:
            return self.get(path)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def create(self, path: str, obj: dict) -> Any:
        return self.request("POST", path, obj)

    def replace(self, path: str, obj: dict) -> Any:
        return self.request("PUT", path, obj)

    def patch(self, path: str, patch: Any, kind: str = "merge", **query: Any) -> Any:
        return self.request(
            "PATCH", path, patch, content_type=PATCH_TYPES[kind], query=query or None
        )

    def apply(
        self,
        path: str,
        obj: dict,
        field_manager: str = "jenkins-kit-tests",
        force: bool = True,
    ) -> Any:
        """Server-side apply of ``obj`` at its object path."""
        return self.patch(
            path,
            obj,
            kind="apply",
            fieldManager=field_manager,
            force=str(force).lower(),
        )

    def delete(
        self,
        path: str,
        grace_period_seconds: int | None = None,
        propagation: str | None = None,
    ) -> Any:
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if propagation:
            body["propagationPolicy"] = propagation
        try:
            return self.request("DELETE", path, body)
        except ApiError as e:
            if e.status == 404:
                return None
            raise
