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
* the Dockerfile itself: `COPY`/`ADD` sources that are not in git are build outputs (`artifacts`: the
  language template's build must produce them, in the same pod, before the image build), and the
  first `EXPOSE` port is the generated Deployment's `container_port` (else Spring Boot's
  `server.port`);
* language markers (pom.xml, build.gradle, package.json, go.mod, pyproject.toml/requirements.txt), in
  the build context first, then at the root, pick the pipeline template, which compiles and tests with
  the matching tool image (for Maven, the JDK of the pom's `java.version`);
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
# Maven images per JDK feature release (Docker Official Image `maven`, eclipse-temurin variants).
_MAVEN_JDK_IMAGES = {8: "maven:3.9-eclipse-temurin-8", 11: "maven:3.9-eclipse-temurin-11",
                     17: "maven:3.9-eclipse-temurin-17", 21: "maven:3.9-eclipse-temurin-21"}
_DEFAULT_MAVEN_JDK = 21


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


@dataclass
class DockerfileFacts:
    copies: list[str] = field(default_factory=list)  # context-relative sources of COPY/ADD (not --from)
    expose: list[int] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped (Dockerfile reference)."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        parts = buf.strip().split(None, 1)
        if parts:
            out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
        buf = ""
    if buf.strip():
        parts = buf.strip().split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
    return out


def parse_dockerfile(text: str) -> DockerfileFacts:
    import json
    import shlex

    facts = DockerfileFacts()
    for ins, args in _instructions(text):
        if ins in ("COPY", "ADD"):
            if args.lstrip().startswith("["):
                try:
                    words = [str(w) for w in json.loads(args)]
                except ValueError:
                    continue
            else:
                try:
                    words = shlex.split(args)
                except ValueError:
                    continue
            flags = [w for w in words if w.startswith("--")]
            if any(f.startswith("--from") for f in flags):
                continue  # from another stage or image, not the context
            paths = [w for w in words if not w.startswith("--")]
            for src in paths[:-1]:
                if ins == "ADD" and re.match(r"^[a-z]+://", src):
                    continue
                facts.copies.append(src)
        elif ins == "EXPOSE":
            for w in args.split():
                m = re.fullmatch(r"([0-9]{1,5})(/(tcp|udp|sctp))?", w, re.I)
                if m and 0 < int(m.group(1)) < 65536:
                    facts.expose.append(int(m.group(1)))
    return facts


def _in_git(tree: _Tree, context: str, src: str) -> bool:
    """Whether a COPY source (relative to the context; globs allowed) names something committed."""
    import fnmatch

    rel = posixpath.normpath(posixpath.join(context, src)) if context != "." else posixpath.normpath(src)
    if rel in (".", ""):
        return True
    if any(c in rel for c in "*?["):
        return any(fnmatch.fnmatchcase(f, rel) or fnmatch.fnmatchcase(f, rel + "/*") for f in tree.files)
    return rel in tree.set or any(f.startswith(rel.rstrip("/") + "/") for f in tree.files)


def _maven_jdk(pom: str) -> int | None:
    for tag in ("java.version", "maven.compiler.release", "maven.compiler.source", "maven.compiler.target", "release"):
        m = re.search(rf"<{re.escape(tag)}>\s*([0-9.]+)\s*</{re.escape(tag)}>", pom)
        if m:
            parts = [p for p in m.group(1).split(".") if p]
            if not parts or not all(p.isdigit() for p in parts):
                continue
            return int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0])  # 1.8 -> 8
    return None


def _maven_image(jdk: int) -> str:
    """The maven image of the smallest listed JDK at or above the pom's (javac compiles for older targets)."""
    for v in sorted(_MAVEN_JDK_IMAGES):
        if v >= jdk:
            return _MAVEN_JDK_IMAGES[v]
    return _MAVEN_JDK_IMAGES[max(_MAVEN_JDK_IMAGES)]


def _spring_port(tree: _Tree, base: str) -> int | None:
    for name in ("application.properties", "application.yml", "application.yaml"):
        path = posixpath.join(base, "src/main/resources", name) if base != "." else f"src/main/resources/{name}"
        if path not in tree.set:
            continue
        text = tree.read(path, 1 << 16)
        m = (re.search(r"^\s*server\.port\s*[=:]\s*([0-9]{1,5})\s*$", text, re.M) if name.endswith(".properties")
             else re.search(r"^server:\s*\n(?:[ \t]+.*\n)*?[ \t]+port:\s*([0-9]{1,5})\s*$", text, re.M))
        if m and 0 < int(m.group(1)) < 65536:
            return int(m.group(1))
    return None


def derive(tree: _Tree, url_value: str, branch: str) -> tuple[dict[str, Any], list[str], str | None]:
    """The repository entry derived from a tree listing (before `.jenkins-kit.yaml`)."""
    notes: list[str] = []
    entry: dict[str, Any] = {"name": repo_name(url_value), "git": url_value, "branch": branch}

    dockerfiles = sorted((f for f in tree.files if posixpath.basename(f) in DOCKERFILES), key=lambda f: (f.count("/"), f))
    ctx = "."
    facts = DockerfileFacts()
    if dockerfiles:
        d = dockerfiles[0]
        if d != "Dockerfile":
            entry["dockerfile"] = d
        ctx = posixpath.dirname(d) or "."
        if ctx != ".":
            entry["context"] = ctx
        try:
            facts = parse_dockerfile(tree.read(d, 1 << 18))
        except DiscoveryError:
            notes.append(f"{d} could not be read")
        built = [posixpath.normpath(c) for c in facts.copies if not _in_git(tree, ctx, c)]
        if built:
            entry["artifacts"] = list(dict.fromkeys(built))
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
        port = facts.expose[0] if facts.expose else _spring_port(tree, ctx)
        if port:
            deploy["generate"]["container_port"] = port
            if not facts.expose:
                notes.append(f"no EXPOSE in the Dockerfile: container_port {port} from Spring Boot's server.port")
        elif dockerfiles:
            notes.append("no EXPOSE in the Dockerfile: the generated Deployment assumes container_port 8080")
    entry["deploy"] = deploy

    def marker_in(base: str, marker: str) -> bool:
        return (posixpath.join(base, marker) if base != "." else marker) in tree.set

    language, lang_dir = None, "."
    for base in dict.fromkeys([ctx, "."]):
        language = next((lang for marker, lang in LANGUAGE_MARKERS if marker_in(base, marker)), None)
        if language:
            lang_dir = base
            break
    if language and "jenkinsfile" not in job:
        job["template"] = language
        if language == "maven":
            pom = tree.read(posixpath.join(lang_dir, "pom.xml") if lang_dir != "." else "pom.xml", 1 << 18)
            jdk = _maven_jdk(pom)
            if jdk is not None and _maven_image(jdk) != _MAVEN_JDK_IMAGES[_DEFAULT_MAVEN_JDK]:
                job["tool_image"] = _maven_image(jdk)
                notes.append(f"pom.xml targets Java {jdk}: builds with {job['tool_image']}")
        if lang_dir != ctx:
            notes.append(f"the {language} build is at the root but the Dockerfile's context is {ctx}: "
                         "the build runs in the context; set job.build_command if it must run elsewhere")
    if entry.get("artifacts") and not (language and "jenkinsfile" not in job):
        notes.append(f"the Dockerfile copies {', '.join(entry['artifacts'][:3])}, which git does not have and no "
                     "language template builds: set job.template (maven, gradle, node, go, python) or build it in the Dockerfile")
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
