"""Repository metadata discovery: what job a git repository needs, read from the repository itself.

For each source (a git URL or a local path) we make a shallow, single-branch, no-checkout clone of
the default branch (`git clone --depth 1 --no-checkout`: no history, no working tree) and read the
file list and a few small files from it:

* default branch: where the remote's HEAD points;
* Dockerfile / Containerfile (the shallowest wins; its folder is the build context);
* a `Jenkinsfile` at the root: the job then runs it from SCM instead of a generated one;
* Kubernetes manifests: a kustomization at the root, or a `deploy/`, `k8s/`, `kubernetes/` or
  `manifests/` folder (with a kustomization, or YAML files); the first Deployment found names the
  rollout to wait for. Without manifests a Deployment + Service is generated;
* language markers (pom.xml, build.gradle, package.json, go.mod, pyproject.toml/requirements.txt)
  pick the pipeline template, which adds a Test stage with the matching tool image;
* `.jenkins-kit.yaml` at the root overrides anything derived (merged key by key).

The result is the `repositories:` section of the lab config, validated with the same schema.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

OVERRIDE_FILE = ".jenkins-kit.yaml"
MANIFEST_DIRS = ("deploy", "k8s", "kubernetes", "manifests")
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DOCKERFILES = ("Dockerfile", "Containerfile")
# (marker file at the root, template name). First match wins.
LANGUAGE_MARKERS = (
    ("pom.xml", "maven"),
    ("build.gradle", "gradle"),
    ("build.gradle.kts", "gradle"),
    ("package.json", "node"),
    ("go.mod", "go"),
    ("pyproject.toml", "python"),
    ("requirements.txt", "python"),
    ("setup.py", "python"),
)
_GIT_TIMEOUT = 120.0


class DiscoveryError(Exception):
    pass


@dataclass
class Discovered:
    source: str
    entry: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    language: str | None = None


def _git(*args: str, cwd: str | None = None, timeout: float = _GIT_TIMEOUT) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
    try:
        p = subprocess.run(["git", *args], cwd=cwd, check=False, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise DiscoveryError(f"git {args[0]} timed out after {timeout:.0f}s") from None
    except FileNotFoundError:
        raise DiscoveryError("git is not installed") from None
    if p.returncode != 0:
        msg = p.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiscoveryError(msg[-1] if msg else f"git {args[0]} failed ({p.returncode})")
    return p.stdout.decode("utf-8", "replace")


def _clone_url(source: str) -> tuple[str, str]:
    """(url to clone, value for the config's `git:`). Local paths become file:// so --depth applies."""
    if re.match(r"^[a-z][a-z0-9+.\-]*://", source) or re.match(r"^[\w.\-]+@[\w.\-]+:", source):
        if "://" in source and urlsplit(source).password is not None:
            # It would land in argv, in the printed config and in every job config.
            raise DiscoveryError("the URL carries a password or token: clone with a credential helper or SSH key, "
                                 "and set credentials_id for Jenkins")
        return source, source
    p = Path(source).expanduser()
    if not p.exists():
        raise DiscoveryError(f"{source} is neither a git URL nor an existing path")
    p = p.resolve()
    return p.as_uri(), str(p)


def repo_name(url: str) -> str:
    """A Kubernetes/Jenkins-safe name from a URL or path: last segment, '.git' dropped, DNS-1123."""
    last = re.split(r"[/:]", url.rstrip("/"))[-1]
    last = last.removesuffix(".git")
    n = re.sub(r"[^a-z0-9-]+", "-", last.lower()).strip("-")
    n = re.sub(r"-{2,}", "-", n)[:63].strip("-")
    return n or "repo"


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


class _Tree:
    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        out = _git("ls-tree", "-r", "-z", "--name-only", "HEAD", cwd=workdir)
        self.files = [f for f in out.split("\0") if f]
        self.set = set(self.files)

    def read(self, path: str, limit: int = 1 << 20) -> str:
        text = _git("show", f"HEAD:{path}", cwd=self.workdir)
        return text[:limit]

    def under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        return [f for f in self.files if f.startswith(prefix)]


def _first_deployment(tree: _Tree, files: list[str]) -> str | None:
    for f in sorted(files)[:50]:
        if not f.endswith((".yaml", ".yml")) or posixpath.basename(f) in KUSTOMIZATIONS:
            continue
        try:
            for doc in yaml.safe_load_all(tree.read(f)):
                if isinstance(doc, dict) and doc.get("kind") == "Deployment":
                    name = (doc.get("metadata") or {}).get("name")
                    if isinstance(name, str):
                        return name
        except (yaml.YAMLError, DiscoveryError):
            continue
    return None


def derive(tree: _Tree, url_value: str, branch: str) -> tuple[dict[str, Any], list[str], str | None]:
    """The repository entry derived from a tree listing (before `.jenkins-kit.yaml`)."""
    notes: list[str] = []
    entry: dict[str, Any] = {"name": repo_name(url_value), "git": url_value, "branch": branch}

    dockerfiles = sorted((f for f in tree.files if posixpath.basename(f) in DOCKERFILES), key=lambda f: (f.count("/"), f))
    if dockerfiles:
        d = dockerfiles[0]
        if d != "Dockerfile":
            entry["dockerfile"] = d
        ctx = posixpath.dirname(d) or "."
        if ctx != ".":
            entry["context"] = ctx
        if len(dockerfiles) > 1:
            notes.append(f"several Dockerfiles; using {d} (others: {', '.join(dockerfiles[1:4])}{'...' if len(dockerfiles) > 4 else ''})")
    else:
        notes.append("no Dockerfile found: the generated pipeline builds one at the root; add it or set dockerfile in .jenkins-kit.yaml")

    job: dict[str, Any] = {}
    if "Jenkinsfile" in tree.set:
        job["jenkinsfile"] = "scm"

    manifests: str | None = None
    if any(k in tree.set for k in KUSTOMIZATIONS):
        manifests = "."
    else:
        for d in MANIFEST_DIRS:
            inside = tree.under(d)
            if any(posixpath.basename(f) in KUSTOMIZATIONS and posixpath.dirname(f) == d for f in inside):
                manifests = d
                break
            if any(f.endswith((".yaml", ".yml")) for f in inside):
                manifests = d
                break
    deploy: dict[str, Any] = {}
    if manifests is not None:
        deploy["manifests"] = manifests
        files = tree.files if manifests == "." else tree.under(manifests)
        dep = _first_deployment(tree, files)
        if dep and dep != entry["name"]:
            deploy["deployment"] = dep
        elif not dep:
            notes.append(f"no Deployment found in {manifests}: the rollout waits for deployment/{entry['name']}")
    else:
        deploy["generate"] = {"replicas": 1}
    entry["deploy"] = deploy

    language = next((lang for marker, lang in LANGUAGE_MARKERS if marker in tree.set), None)
    if language and "jenkinsfile" not in job:
        job["template"] = language
    if job:
        entry["job"] = job
    return entry, notes, language


def discover_one(source: str, *, tmp_root: str | None = None) -> Discovered:
    from pydantic import ValidationError

    from jenkins_kit.config.schema import Repository

    res = Discovered(source)
    try:
        url, value = _clone_url(source)
        with tempfile.TemporaryDirectory(prefix="jk-discover-", dir=tmp_root) as tmp:
            work = os.path.join(tmp, "repo")
            _git("clone", "--quiet", "--depth", "1", "--no-checkout", "--no-tags", "--single-branch", "--", url, work)
            try:
                branch = _git("symbolic-ref", "--short", "HEAD", cwd=work).strip()
                _git("rev-parse", "--verify", "--quiet", "HEAD", cwd=work)
            except DiscoveryError:
                raise DiscoveryError("the repository is empty (no commit on its default branch)") from None
            tree = _Tree(work)
            entry, notes, language = derive(tree, value, branch)
            if OVERRIDE_FILE in tree.set:
                try:
                    over = yaml.safe_load(tree.read(OVERRIDE_FILE))
                except yaml.YAMLError as e:
                    raise DiscoveryError(f"{OVERRIDE_FILE} is not valid YAML: {e}") from None
                if over is not None and not isinstance(over, dict):
                    raise DiscoveryError(f"{OVERRIDE_FILE} must be a mapping of repository fields")
                if over:
                    if "deploy" in over and isinstance(over["deploy"], dict) and ("manifests" in over["deploy"] or "generate" in over["deploy"]):
                        entry["deploy"] = {k: v for k, v in entry["deploy"].items() if k not in ("manifests", "generate", "deployment")}
                    entry = _deep_merge(entry, over)
                    notes.append(f"{OVERRIDE_FILE} applied")
        try:
            Repository.model_validate(entry)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors())
            raise DiscoveryError(f"the derived entry is not valid: {problems}") from None
        res.entry, res.notes, res.language = entry, notes, language
    except DiscoveryError as e:
        res.error = str(e)
    return res


def discover(sources: list[str], *, workers: int = 4) -> list[Discovered]:
    """Discover every source (in parallel), results in the order given. Duplicate names get a suffix."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(sources) or 1))) as ex:
        results = list(ex.map(discover_one, sources))
    seen: dict[str, int] = {}
    for r in results:
        if r.entry is None:
            continue
        n = r.entry["name"]
        if n in seen:
            seen[n] += 1
            new = f"{n[:60]}-{seen[n]}"
            r.notes.append(f"name {n!r} already used by another repository: renamed to {new!r}")
            r.entry["name"] = new
        else:
            seen[n] = 1
    return results


def to_yaml(results: list[Discovered]) -> str:
    entries = [r.entry for r in results if r.entry is not None]
    body = yaml.safe_dump({"repositories": entries}, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
    return "# Discovered by `jenkins-kit jobs discover`; review, then paste into jenkins-kit.yaml.\n" + body
