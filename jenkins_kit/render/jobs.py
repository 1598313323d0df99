"""Jenkins items from the lab config: folders, pipeline and multibranch jobs (pure, no I/O but templates).

`render_jobs(cfg)` returns one `RenderedJob` per Jenkins item, folders first (parents before children),
each with its config.xml, its Jenkinsfile when generated inline, and `spec_hash`: a digest of the
desired config. The description of every item ends with the ownership marker carrying that hash, so a
listing of names and descriptions (one request) tells which items we own and whether they are current.

`spec_hash` digests the *inputs* of the render (the job's values, the templates' text and
`RENDER_SCHEME`), not its output, so it is known without rendering: a sync that finds every marker
current renders nothing (a no-op of 10,000 jobs would otherwise spend seconds rendering 10,000
Jenkinsfiles only to hash them). config.xml and the Jenkinsfile are rendered on first use, once.
Rendering is deterministic in those inputs, so a marker that matches means these very inputs were
rendered and applied before.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from pathlib import Path

from jenkins_kit import escape
from jenkins_kit.config.schema import GeneratedDeploy, JobOptions, LabConfig, Repository
from jenkins_kit.errors import InvalidValue
from jenkins_kit.render.env import template_env

MARKER_PREFIX = "[managed by jenkins-kit; spec "
_MARKER_RE = re.compile(r"\[managed by jenkins-kit; spec ([0-9a-f]{16})\]\s*\Z")
_MARKER_ANY = re.compile(r"\[managed by jenkins-kit; spec [0-9a-f]{16}\]")
_PLACEHOLDER_HASH = "0" * 16
# Part of every spec hash. Bump it when a change to this module's Python code (not to a template:
# templates are hashed) changes what is rendered for the same inputs, so every job is updated once.
RENDER_SCHEME = "2"
_UNSET: object = object()

DEFAULT_SCRIPT_PATH = "Jenkinsfile"
DEFAULT_TEMPLATE = "default"
# Class names as they appear in `_class` of the JSON API, per kind.
JENKINS_CLASS = {
    "pipeline": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
    "multibranch": "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
    "folder": "com.cloudbees.hudson.plugins.folder.Folder",
}


def marker(spec_hash: str) -> str:
    return f"{MARKER_PREFIX}{spec_hash}]"


def parse_marker(description: str | None) -> str | None:
    """The spec hash recorded in a live item's description, or None when the item is not ours."""
    if not description:
        return None
    m = _MARKER_RE.search(description)
    return m.group(1) if m else None


def with_marker(description: str, spec_hash: str) -> str:
    return f"{description}\n\n{marker(spec_hash)}" if description else marker(spec_hash)


class RenderedJob:
    """One Jenkins item: name, kind and spec hash at once; config.xml and Jenkinsfile rendered on first use.

    Build one directly with the texts (`RenderedJob(name, kind, xml, jenkinsfile, spec_hash)`), or
    lazily with `render=` returning `(config_xml, jenkinsfile)`.
    """

    __slots__ = ("full_name", "kind", "spec_hash", "repository", "disabled", "_xml", "_jenkinsfile", "_render")

    def __init__(self, full_name: str, kind: str, config_xml: str | None = None, jenkinsfile: str | None = None,
                 spec_hash: str = "", repository: str | None = None, *, disabled: bool | None = None,
                 render: Callable[[], tuple[str, str | None]] | None = None) -> None:
        self.full_name = full_name  # "folder/sub/name"
        self.kind = kind  # "pipeline" | "multibranch" | "folder"
        self.spec_hash = spec_hash
        self.repository = repository  # source repository name (None for folders)
        self._render = render
        self._xml: object = _UNSET if render is not None else config_xml
        self._jenkinsfile: object = _UNSET if render is not None else jenkinsfile
        if disabled is None:
            disabled = config_xml is not None and "<disabled>true</disabled>" in config_xml
        self.disabled = disabled  # the job is desired disabled (known without rendering)

    def _materialize(self) -> None:
        if self._xml is _UNSET:
            assert self._render is not None
            xml, jf = self._render()
            self._jenkinsfile, self._xml, self._render = jf, xml, None

    @property
    def config_xml(self) -> str:
        self._materialize()
        return self._xml  # type: ignore[return-value]

    @property
    def jenkinsfile(self) -> str | None:
        self._materialize()
        return self._jenkinsfile  # type: ignore[return-value]

    @property
    def rendered(self) -> bool:
        return self._xml is not _UNSET

    @property
    def name(self) -> str:
        return self.full_name.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.full_name.rsplit("/", 1)[0] if "/" in self.full_name else ""

    @property
    def depth(self) -> int:
        return self.full_name.count("/")

    @property
    def is_container(self) -> bool:
        return self.kind in ("folder", "multibranch")

    def _key(self) -> tuple[object, ...]:
        return (self.full_name, self.kind, self.config_xml, self.jenkinsfile, self.spec_hash, self.repository)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RenderedJob) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.full_name, self.kind, self.spec_hash))

    def __repr__(self) -> str:
        return f"RenderedJob({self.full_name!r}, {self.kind!r}, spec_hash={self.spec_hash!r}{'' if self.rendered else ', not rendered yet'})"


def merged_job_options(cfg: LabConfig, repo: Repository) -> JobOptions:
    """`jobs.defaults` under the repository's `job:` (the repository wins, field by field).

    Both sides were validated when the config was loaded and JobOptions has no rule across fields,
    so the merge copies validated values instead of validating again (once per repository on every
    sync: 10,000 validations of a big lab)."""
    job = repo.job
    update = {k: v for k in JobOptions.model_fields if (v := getattr(job, k)) is not None}
    return cfg.jobs.defaults.model_copy(update=update) if update else cfg.jobs.defaults


def _scan(minutes: int | None) -> dict[str, object] | None:
    if not minutes:
        return None
    if minutes < 60:
        spec = f"H/{minutes} * * * *"
    elif minutes < 1440:
        spec = f"H H/{max(1, minutes // 60)} * * *"
    else:
        spec = "H H * * *"
    return {"spec": spec, "interval_ms": minutes * 60_000}


def _norm_rel(path: str, field: str, value_path: str) -> str:
    if path.startswith("/") or ".." in path.split("/"):
        raise InvalidValue(value_path, path, "must be a relative path inside the repository", None)
    return posixpath.normpath(path) if path else "."


class _Renderer:
    def __init__(self, cfg: LabConfig, templates_dir: str | None) -> None:
        self.cfg = cfg
        self.env = template_env("job_templates", templates_dir)
        self._templates: dict[str, object] = {}
        self._digests: dict[str, str] = {}
        # What the templates see of the config beyond the repository and its merged job options.
        self.shared = {
            "registry": cfg.registry.address,
            "registry_insecure": bool(cfg.registry.insecure),
            "agent_label": cfg.agents.label,
            "deploy_namespace": cfg.agents.deploy_namespace,
        }
        self._shared_json = json.dumps(self.shared, sort_keys=True)

    def template(self, name: str):  # type: ignore[no-untyped-def]
        t = self._templates.get(name)
        if t is not None:
            return t
        try:
            t = self._templates[name] = self.env.get_template(name)
            return t
        except Exception as e:  # jinja2.TemplateNotFound / syntax errors
            raise InvalidValue("jobs.templates", name, f"template cannot be loaded: {e}", "check job_templates/ and jobs.templates_dir") from e

    def digest(self, name: str) -> str:
        """A digest of a template's text and of every template it imports or includes, so editing
        a template changes the spec hash of exactly the jobs rendered with it."""
        d = self._digests.get(name)
        if d is not None:
            return d
        import jinja2.meta

        h = hashlib.sha256(f"jenkins-kit render {RENDER_SCHEME}\0".encode())
        todo, seen = [name], set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            try:
                source = self.env.loader.get_source(self.env, n)[0]
                refs = list(jinja2.meta.find_referenced_templates(self.env.parse(source)))
            except Exception as e:  # missing template, syntax error: said precisely, as on render
                raise InvalidValue("jobs.templates", n, f"template cannot be loaded: {e}", "check job_templates/ and jobs.templates_dir") from e
            h.update(f"{n}\0{len(source)}\0{source}\0".encode())
            if None in refs:  # a computed template name: depend on every template there is
                todo.extend(self.env.list_templates())
            todo.extend(r for r in refs if r is not None)
        d = self._digests[name] = h.hexdigest()
        return d

    def spec_hash(self, templates: tuple[str, ...], *inputs: str) -> str:
        """sha256 over the templates' digests and the inputs (NUL-separated: no input holds a NUL)."""
        text = "\0".join([*(self.digest(t) for t in templates), *inputs])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @staticmethod
    def finish(text: str, spec_hash: str) -> str:
        """Put the real marker where the template rendered the placeholder one."""
        placeholder = _xml_marker(_PLACEHOLDER_HASH)
        i = text.find(placeholder)
        if i < 0:
            raise InvalidValue("jobs.templates", "description", "a config.xml template must render `description` into <description>", None)
        return text[:i] + _xml_marker(spec_hash) + text[i + len(placeholder) :]

    def folder(self, full_name: str) -> RenderedJob:
        h = self.spec_hash(("folder.config.xml.j2",), "folder", full_name)

        def render() -> tuple[str, None]:
            desc = with_marker("Folder of jobs generated by jenkins-kit.", _PLACEHOLDER_HASH)
            return self.finish(self.template("folder.config.xml.j2").render(description=desc, name=full_name), h), None

        return RenderedJob(full_name, "folder", spec_hash=h, disabled=False, render=render)

    def repo_job(self, i: int, repo: Repository) -> RenderedJob:
        """Name, kind and spec hash now (cheap, and every value check that needs no template); the
        texts when first asked for."""
        cfg = self.cfg
        job = merged_job_options(cfg, repo)
        kind = job.type or "pipeline"
        mode = "scm" if kind == "multibranch" else (job.jenkinsfile or "generated")
        user_desc = job.description if job.description is not None else repo.description
        if user_desc and _MARKER_ANY.search(user_desc):
            raise InvalidValue(f"repositories[{i}].description", user_desc, "must not contain the jenkins-kit ownership marker", None)
        full_name = f"{job.folder}/{repo.name}" if job.folder else repo.name
        where = f"repositories[{i}]"
        paths = None
        if kind == "pipeline" and mode == "generated":
            paths = {
                "dockerfile": _norm_rel(repo.dockerfile, "dockerfile", f"{where}.dockerfile"),
                "context": _norm_rel(repo.context, "context", f"{where}.context"),
                "manifests": None if repo.deploy.manifests is None else
                _norm_rel(repo.deploy.manifests, "manifests", f"{where}.deploy.manifests"),
            }
        templates: tuple[str, ...] = ("multibranch.config.xml.j2" if kind == "multibranch" else "pipeline.config.xml.j2",)
        if paths is not None:
            template = job.template or DEFAULT_TEMPLATE
            templates += ("Jenkinsfile.j2" if template == DEFAULT_TEMPLATE else f"{template}.Jenkinsfile.j2",)
            if paths["manifests"] is None:
                templates += ("deploy.yaml.j2",)
        # pydantic's own JSON (fields in declaration order, so stable for one schema) is ~10x cheaper
        # than model_dump + json.dumps, and this runs once per job on every sync.
        h = self.spec_hash(templates, kind, mode, full_name, repo.model_dump_json(), job.model_dump_json(),
                           self._shared_json if paths is not None else "")

        def render() -> tuple[str, str | None]:
            try:
                return self._render_repo_job(repo, job, kind, mode, full_name, user_desc, paths, h)
            except ValueError as e:  # an escaper refusing a value no output language can carry
                if isinstance(e, InvalidValue):
                    raise
                raise InvalidValue(f"repositories[{i}] ({repo.name})", "", str(e),
                                   "remove control characters (other than tab and newline) from the repository's values") from None

        return RenderedJob(full_name, kind, spec_hash=h, repository=repo.name, disabled=bool(job.disabled), render=render)

    def _render_repo_job(self, repo: Repository, job: JobOptions, kind: str, mode: str, full_name: str,
                         user_desc: str | None, paths: dict[str, str | None] | None, spec_hash: str) -> tuple[str, str | None]:
        opts = job.model_dump()
        opts["type"] = kind
        opts["jenkinsfile"] = mode
        opts["script_path"] = job.script_path or DEFAULT_SCRIPT_PATH
        desc = with_marker(user_desc or "", _PLACEHOLDER_HASH)
        jenkinsfile = self.jenkinsfile(repo, job, paths) if paths is not None else None
        ctx = {
            "repo": repo,
            "job": opts,
            "description": desc,
            "jenkinsfile": jenkinsfile,
            "full_name": full_name,
            "source_id": "jenkins-kit-" + hashlib.sha256(full_name.encode("utf-8")).hexdigest()[:12],
            "scan": _scan(job.scan_interval_minutes),
        }
        tname = "multibranch.config.xml.j2" if kind == "multibranch" else "pipeline.config.xml.j2"
        return self.finish(self.template(tname).render(**ctx), spec_hash), jenkinsfile

    def jenkinsfile(self, repo: Repository, job: JobOptions, paths: dict[str, str | None]) -> str:
        sh = self.shared
        dockerfile = str(paths["dockerfile"])
        image = f"{sh['registry']}/{repo.image_name}"
        out_opts = ",registry.insecure=true" if sh["registry_insecure"] else ""
        build = {
            "context": paths["context"],
            "dockerfile_dir": posixpath.dirname(dockerfile) or ".",
            "dockerfile_name": posixpath.basename(dockerfile),
            "image": image,
            "output_opts": out_opts,
        }
        d = repo.deploy
        deploy: dict[str, object] = {
            "namespace": sh["deploy_namespace"],
            "deployment": d.deployment or repo.name,
            "manifests": paths["manifests"],
            "manifest_head": None,
            "manifest_tail": None,
        }
        if paths["manifests"] is None:
            gen = d.generate or GeneratedDeploy()
            manifest = self.template("deploy.yaml.j2").render(
                name=deploy["deployment"], namespace=sh["deploy_namespace"], image=image, gen=gen
            )
            head, sep, tail = manifest.partition("@@BUILD_NUMBER@@")
            if not sep:
                raise InvalidValue("jobs.templates", "deploy.yaml.j2", "must contain @@BUILD_NUMBER@@ in the image tag", None)
            deploy["manifest_head"], deploy["manifest_tail"] = head, tail
        template = job.template or DEFAULT_TEMPLATE
        tname = "Jenkinsfile.j2" if template == DEFAULT_TEMPLATE else f"{template}.Jenkinsfile.j2"
        return self.template(tname).render(
            repo=repo, job=job, build=build, deploy=deploy, agent_label=sh["agent_label"], registry=sh["registry"]
        )


def _xml_marker(h: str) -> str:
    return escape.xml_text(marker(h))


def render_jobs(cfg: LabConfig, *, templates_dir: str | Path | None = None, base_dir: str | Path | None = None,
                lazy: bool = False) -> list[RenderedJob]:
    """Every Jenkins item the config asks for: folders (parents first), then jobs in config order.

    With `lazy`, names, kinds and spec hashes are computed now and the texts on first use (a job sync
    renders only what it creates or updates); otherwise everything is rendered before returning.

    `templates_dir` overrides `jobs.templates_dir`; a relative one is taken from `base_dir` (the config
    file's folder) when given.
    """
    tdir = templates_dir if templates_dir is not None else cfg.jobs.templates_dir
    if tdir is not None and base_dir is not None and not Path(tdir).is_absolute():
        tdir = Path(base_dir) / tdir
    r = _Renderer(cfg, str(tdir) if tdir is not None else None)
    jobs = [r.repo_job(i, repo) for i, repo in enumerate(cfg.repositories)]
    folders: list[str] = []
    seen: set[str] = set()
    for j in jobs:
        parts = j.full_name.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            f = "/".join(parts[:k])
            if f.lower() not in seen:
                seen.add(f.lower())
                folders.append(f)
    by_name: dict[str, str] = {}
    for j in jobs:
        key = j.full_name.lower()
        if key in seen:
            raise InvalidValue(
                "repositories", j.full_name, "a job and a folder would have the same name (Jenkins names are case-insensitive)", "rename the repository or the folder"
            )
        if key in by_name:
            raise InvalidValue("repositories", j.full_name, f"two repositories render to the same job {j.full_name!r}", "change the folder or name")
        by_name[key] = j.full_name
    folders.sort(key=lambda f: (f.count("/"), f.lower()))
    out = [r.folder(f) for f in folders] + jobs
    if not lazy:
        render_all(out)
    return out


def render_all(jobs: list[RenderedJob]) -> list[RenderedJob]:
    """Render every job not rendered yet (raises the first `InvalidValue`, before anything is sent)."""
    for j in jobs:
        j.config_xml  # noqa: B018 - rendering on first access is the point
    return jobs
