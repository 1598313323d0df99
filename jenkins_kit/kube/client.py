"""Kubernetes client wrapper: server-side apply with field manager `jenkins-kit`, dry-run diffs,
ownership labels, and errors turned into advice.

Objects are plain dicts (the API's JSON). Nothing here renders: callers pass manifests in.
"""

from __future__ import annotations

import base64
import builtins
import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from jenkins_kit.errors import ExitCode, KitError
from jenkins_kit.plan import Action, Change, yaml_diff
from jenkins_kit.secrets import REDACTED, scrub

FIELD_MANAGER = "jenkins-kit"
MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "jenkins-kit"
MANAGED_SELECTOR = f"{MANAGED_BY_KEY}={MANAGED_BY_VALUE}"

_VOLATILE_META = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink")
_VOLATILE_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


class KubeError(KitError):
    exit_code = ExitCode.ERROR


class KubeConnectionError(KubeError):
    exit_code = ExitCode.CONNECTION


class ApplyConflict(KubeError):
    exit_code = ExitCode.ERROR


def ident(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def is_ours(obj: dict[str, Any] | None) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE


def normalize(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """Drop what the server changes on every write, so two reads of an unchanged object compare equal."""
    if obj is None:
        return None
    o = copy.deepcopy(obj)
    meta = o.get("metadata") or {}
    for k in _VOLATILE_META:
        meta.pop(k, None)
    ann = meta.get("annotations")
    if ann:
        for k in _VOLATILE_ANNOTATIONS:
            ann.pop(k, None)
        if not ann:
            meta.pop("annotations")
    return o


def redact(obj: dict[str, Any] | None, other: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A Secret with its values replaced (marking which keys differ from `other`); other kinds unchanged."""
    if obj is None or obj.get("kind") != "Secret":
        return obj
    o = copy.deepcopy(obj)
    other_data = ((other or {}).get("data") or {}) if other is not None else None
    for field in ("data", "stringData"):
        if isinstance(o.get(field), dict):
            for k, v in o[field].items():
                changed = other_data is not None and other_data.get(k) != v
                o[field][k] = REDACTED + (" (changed)" if changed else "")
    return o


_CACHE_DIR: list[str] = []


def _private_cache_file() -> str:
    import atexit
    import shutil
    import tempfile

    if not _CACHE_DIR:
        d = tempfile.mkdtemp(prefix="jenkins-kit-discovery-")
        atexit.register(shutil.rmtree, d, True)
        _CACHE_DIR.append(d)
    return os.path.join(_CACHE_DIR[0], f"discovery-{len(os.listdir(_CACHE_DIR[0]))}.json")


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


@dataclass
class ObjectDiff:
    obj: dict[str, Any]
    live: dict[str, Any] | None
    desired: dict[str, Any] | None  # the server's dry-run result
    change: Change


class Kube:
    """A thin, typed-error facade over the official client's DynamicClient."""

    def __init__(self, api_client: Any, *, server: str = "", request_timeout: float = 30.0) -> None:
        from kubernetes.dynamic import DynamicClient

        self.api_client = api_client
        self.server = server
        self.timeout = request_timeout
        try:
            # A private, per-process discovery cache: the library's default (a file in /tmp shared by
            # every process talking to the same server) goes stale when CRDs come and go.
            self.dyn = DynamicClient(api_client, cache_file=_private_cache_file())
        except Exception as e:  # discovery is the first call that reaches the server
            raise self._error(e, "connect to") from None

    # ------------------------------------------------------------------ construction

    @classmethod
    def connect(cls, kubeconfig: str | None = None, context: str | None = None, request_timeout: float = 30.0) -> Kube:
        from kubernetes import config as kconfig

        path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        path = os.path.expanduser(path)
        first = path.split(os.pathsep)[0]
        if not os.path.exists(first):
            raise KubeConnectionError(
                f"kubeconfig {first} not found",
                "set cluster.kubeconfig in the config, pass --kubeconfig, or export KUBECONFIG",
            )
        try:
            api = kconfig.new_client_from_config(config_file=path, context=context, persist_config=False)
        except kconfig.ConfigException as e:
            raise KubeConnectionError(f"cannot load kubeconfig {path}: {e}", "check cluster.context and the kubeconfig's contexts") from None
        api.configuration.retries = 1
        return cls(api, server=api.configuration.host, request_timeout=request_timeout)

    # ------------------------------------------------------------------ errors

    def _error(self, e: Exception, verb: str, what: str = "") -> KitError:
        from kubernetes.client.exceptions import ApiException

        target = f" {what}" if what else ""
        if isinstance(e, ApiException):
            body = scrub(str(e.body or e.reason or ""))
            msg = body
            try:
                import json

                msg = json.loads(e.body or "{}").get("message", body)
            except Exception:
                pass
            msg = scrub(str(msg))
            if e.status == 401:
                return KubeError(f"cannot {verb}{target}: unauthorized ({msg})", "the kubeconfig's credentials were refused; refresh them")
            if e.status == 403:
                return KubeError(f"cannot {verb}{target}: forbidden ({msg})", "your kubeconfig user lacks the RBAC rights; use a cluster-admin context")
            if e.status == 409 and "conflict" in msg.lower():
                return ApplyConflict(
                    f"cannot {verb}{target}: another field manager owns fields we set ({msg})",
                    "someone changed this object with kubectl/helm; resolve by hand or delete the other manager's fields",
                )
            if e.status == 422:
                return KubeError(f"the cluster rejected{target}: {msg}", "some fields cannot change after creation (e.g. a PVC's size down, a PV's source)")
            return KubeError(f"cannot {verb}{target}: HTTP {e.status}: {msg}")
        name = e.__class__.__name__
        text = scrub(str(e))
        if any(s in name for s in ("MaxRetryError", "NewConnectionError", "ConnectionError", "ProtocolError")) or "Connection refused" in text:
            return KubeConnectionError(
                f"cannot reach the cluster at {self.server or '?'} ({name})",
                "check that the API server is up and that cluster.kubeconfig/context point at it (jenkins-kit doctor)",
            )
        if "timed out" in text.lower() or "Timeout" in name:
            return KubeConnectionError(f"the cluster at {self.server or '?'} did not answer in time", "check the network path to the API server")
        return KubeError(f"cannot {verb}{target}: {name}: {text}")

    # ------------------------------------------------------------------ reads

    def version(self) -> dict[str, Any]:
        try:
            from kubernetes.client import VersionApi

            v = VersionApi(self.api_client).get_code(_request_timeout=self.timeout)
            return {"gitVersion": v.git_version, "major": v.major, "minor": v.minor, "platform": v.platform}
        except Exception as e:
            raise self._error(e, "read the version of") from None

    def resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise KubeError(
                f"the cluster does not know {kind} ({api_version})",
                "its CRD is not installed yet" if "." in api_version.split("/")[0] else None,
            ) from None
        except Exception as e:
            raise self._error(e, "discover", kind) from None

    def has_kind(self, api_version: str, kind: str) -> bool:
        try:
            self.resource(api_version, kind)
            return True
        except KubeConnectionError:
            raise
        except KubeError:
            return False

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        res = self.resource(api_version, kind)
        try:
            kw = {"namespace": namespace} if res.namespaced else {}
            return res.get(name=name, _request_timeout=self.timeout, **kw).to_dict()
        except NotFoundError:
            return None
        except Exception as e:
            raise self._error(e, "read", f"{kind} {name}") from None

    def list(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> list[dict[str, Any]]:
        res = self.resource(api_version, kind)
        kw: dict[str, Any] = {}
        if res.namespaced and namespace:
            kw["namespace"] = namespace
        if label_selector:
            kw["label_selector"] = label_selector
        if field_selector:
            kw["field_selector"] = field_selector
        try:
            return [i for i in res.get(_request_timeout=self.timeout, **kw).to_dict().get("items") or []]
        except Exception as e:
            raise self._error(e, "list", kind) from None

    def read_secret_key(self, namespace: str, name: str, key: str) -> str | None:
        s = self.get("v1", "Secret", name, namespace)
        if s is None:
            return None
        data = s.get("data") or {}
        if key not in data:
            return None
        return base64.b64decode(data[key]).decode("utf-8")

    # ------------------------------------------------------------------ writes

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
        """Server-side apply with field manager `jenkins-kit`; returns the resulting object."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        kw: dict[str, Any] = {"field_manager": FIELD_MANAGER, "_request_timeout": self.timeout}
        if res.namespaced:
            kw["namespace"] = meta.get("namespace")
        if dry_run:
            kw["dry_run"] = "All"
        try:
            return self.dyn.server_side_apply(res, body=obj, name=meta["name"], force_conflicts=force, **kw).to_dict()
        except Exception as e:
            raise self._error(e, "apply", f"{obj['kind']} {ident(obj)}") from None

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
               grace_period_seconds: int | None = None) -> bool:
        """Delete; False if it was already gone."""
        from kubernetes.dynamic.exceptions import NotFoundError

        res = self.resource(api_version, kind)
        kw: dict[str, Any] = {"_request_timeout": self.timeout, "propagation_policy": "Background"}
        if res.namespaced:
            kw["namespace"] = namespace
        if grace_period_seconds is not None:
            kw["grace_period_seconds"] = grace_period_seconds
        try:
            res.delete(name=name, **kw)
            return True
        except NotFoundError:
            return False
        except Exception as e:
            raise self._error(e, "delete", f"{kind} {name}") from None

    # ------------------------------------------------------------------ plan

    def diff(self, obj: dict[str, Any], *, world: str = "cluster", adopt: bool = False) -> ObjectDiff:
        """What applying `obj` would change, from a server-side dry-run apply (defaults and admission included).

        An existing object without our ownership label is a conflict (we never take over objects
        we did not create) unless `adopt`; a foreign Namespace is simply used as is.
        """
        kind = obj["kind"]
        name = ident(obj)
        meta = obj.get("metadata") or {}
        live = self.get(obj["apiVersion"], kind, meta["name"], meta.get("namespace"))
        if live is not None and not is_ours(live) and (not adopt or kind == "Namespace"):
            if kind == "Namespace":
                # Never adopted: purging an adopted namespace would take everything in it along.
                ch = Change(kind, name, "noop", reason="exists, not created by jenkins-kit: used as is", world=world)
            else:
                ch = Change(kind, name, "conflict", reason="exists but was not created by jenkins-kit (no managed-by label); "
                            "rerun with --adopt to take it over, or delete/rename it", world=world)
            return ObjectDiff(obj, live, None, ch)
        foreign = live is not None and not is_ours(live)
        # Taking over an object means taking its fields from whoever set them (force), as kubectl
        # apply --server-side --force-conflicts does; only ever with --adopt.
        desired = self.apply(obj, dry_run=True, force=foreign)
        a, b = normalize(live), normalize(desired)
        if live is None:
            action, reason = "create", "absent"
        elif foreign:
            action, reason = "update", "adopt: exists without the jenkins-kit label; --adopt takes it over"
        elif a == b:
            action, reason = "noop", "up to date"
        else:
            action, reason = "update", "differs from the config"
        shown_before = redact(a)
        shown_after = redact(b, a)
        diff = yaml_diff(shown_before, shown_after, f"{kind.lower()}/{name}") if action != "noop" else ""
        if kind == "Secret" and action == "update" and not diff:
            diff = "(secret values differ; not shown)\n"
        return ObjectDiff(obj, live, desired, Change(kind, name, cast(Action, action), shown_before, shown_after, reason, diff, world))

    # ------------------------------------------------------------------ waiting helpers

    def pods(self, namespace: str, label_selector: str) -> builtins.list[dict[str, Any]]:  # `list` is a method here
        return self.list("v1", "Pod", namespace, label_selector)

    def events_for(self, namespace: str, kind: str, name: str) -> Iterator[dict[str, Any]]:
        sel = f"involvedObject.kind={kind},involvedObject.name={name}"
        for ev in self.list("v1", "Event", namespace, field_selector=sel):
            yield ev


def secret_manifest(name: str, namespace: str, data: dict[str, str], labels: dict[str, str],
                    type_: str = "Opaque") -> dict[str, Any]:
    """A Secret manifest with base64 `data` (the values are only ever in this dict, sent to the API)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "type": type_,
        "data": {k: _b64(v) for k, v in sorted(data.items())},
    }
