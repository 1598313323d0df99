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
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from jenkins_kit import escape
from jenkins_kit.config.schema import GeneratedDeploy, JobOptions, LabConfig, Repository
from jenkins_kit.errors import InvalidValue
from jenkins_kit.render.env import referenced_templates, template_env

if TYPE_CHECKING:
    from jenkins_kit.render.parallel import Claimed

MARKER_PREFIX = "[managed by jenkins-kit; "
# Current form: owner (the config's `jobs.owner`), item (digest of the full name the item was written
# under, so a copy made in the UI, which inherits the description, is recognisably not the item we
# wrote) and spec. The legacy form (before ownership per config) carries the spec only.
_MARKER_RE = re.compile(
    r"\[managed by jenkins-kit; (?:owner ([a-z0-9][a-z0-9.\-]{0,61}[a-z0-9]|[a-z0-9]); item ([0-9a-f]{12}); )?spec ([0-9a-f]{16})\]\s*\Z"
)
_MARKER_ANY = re.compile(r"\[managed by jenkins-kit;[^\]]*\]")
_PLACEHOLDER_HASH = "0" * 16
# Part of every spec hash. Bump it when a change to this module's Python code (not to a template:
# templates are hashed) changes what is rendered for the same inputs, so every job is updated once.
RENDER_SCHEME = "2"
_UNSET: object = object()
PARALLEL_FROM = 256  # jobs to render before forking is worth its ~5 ms


@dataclass(frozen=True)
class Marker:
    """What an item's description says about who wrote it. `owner`/`item` are None for a legacy marker."""

    spec: str
    owner: str | None = None
    item: str | None = None


def item_digest(full_name: str) -> str:
    """Jenkins compares item names case-insensitively, so the digest does too."""
    return hashlib.sha256(full_name.lower().encode("utf-8")).hexdigest()[:12]


def owner_of(cfg: LabConfig) -> str:
    """The config's identity in the markers: `jobs.owner`, else `<release>.<namespace>` (stable for a lab)."""
    return cfg.jobs.owner or f"{cfg.jenkins.release}.{cfg.cluster.namespace}"


def marker(spec_hash: str, owner: str | None = None, full_name: str | None = None) -> str:
    if owner is None or full_name is None:
        return f"{MARKER_PREFIX}spec {spec_hash}]"
    return f"{MARKER_PREFIX}owner {owner}; item {item_digest(full_name)}; spec {spec_hash}]"


def read_marker(description: str | None) -> Marker | None:
    """The marker at the end of a live item's description, or None when there is none."""
    if not description:
        return None
    m = _MARKER_RE.search(description)
    if not m:
        return None
    return Marker(m.group(3), m.group(1), m.group(2))


def parse_marker(description: str | None) -> str | None:
    """The spec hash recorded in a live item's description (any owner), or None without a marker."""
    m = read_marker(description)
    return m.spec if m else None


def with_marker(description: str, spec_hash: str, owner: str | None = None, full_name: str | None = None) -> str:
    mk = marker(spec_hash, owner, full_name)
    return f"{description}\n\n{mk}" if description else mk


DEFAULT_SCRIPT_PATH = "Jenkinsfile"
DEFAULT_TEMPLATE = "default"
# Class names as they appear in `_class` of the JSON API, per kind.
JENKINS_CLASS = {
    "pipeline": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
    "multibranch": "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
    "folder": "com.cloudbees.hudson.plugins.folder.Folder",
    "freestyle": "hudson.model.FreeStyleProject",
}


class RenderedJob:
    """One Jenkins item: name, kind and spec hash at once; config.xml and Jenkinsfile rendered on first use.

    Build one directly with the texts (`RenderedJob(name, kind, xml, jenkinsfile, spec_hash)`), or
    lazily with `render=` returning `(config_xml, jenkinsfile)`.
    """

    __slots__ = ("full_name", "kind", "spec_hash", "repository", "owner", "disabled", "has_jenkinsfile", "_xml", "_jenkinsfile",
                 "_render")

    def __init__(self, full_name: str, kind: str, config_xml: str | None = None, jenkinsfile: str | None = None,
                 spec_hash: str = "", repository: str | None = None, owner: str | None = None, *,
                 disabled: bool | None = None, render: Callable[[], tuple[str, str | None]] | None = None,
                 has_jenkinsfile: bool | None = None) -> None:
        self.full_name = full_name  # "folder/sub/name"
        self.kind = kind  # "pipeline" | "multibranch" | "freestyle" | "folder"
        self.spec_hash = spec_hash
        self.repository = repository  # source repository name (None for folders)
        self.owner = owner  # the config's identity, as written in the marker
        self._render = render
        self._xml: object = _UNSET if render is not None else config_xml
        self._jenkinsfile: object = _UNSET if render is not None else jenkinsfile
        if disabled is None:
            disabled = config_xml is not None and "<disabled>true</disabled>" in config_xml
        self.disabled = disabled  # the job is desired disabled (known without rendering)
        if has_jenkinsfile is None:
            if render is not None:
                raise TypeError("a lazily rendered job must say whether it renders a Jenkinsfile (has_jenkinsfile)")
            has_jenkinsfile = jenkinsfile is not None
        self.has_jenkinsfile = has_jenkinsfile  # known without rendering: where `jobs render` writes it

    def _set_rendered(self, config_xml: str, jenkinsfile: str | None) -> None:
        """Texts rendered elsewhere (another process) from this job's own render function."""
        self._xml, self._jenkinsfile, self._render = config_xml, jenkinsfile, None

    def _materialize(self) -> None:
        if self._xml is _UNSET:
            assert self._render is not None
            xml, jf = self._render()
            assert (jf is not None) == self.has_jenkinsfile, self.full_name
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
        return (self.full_name, self.kind, self.config_xml, self.jenkinsfile, self.spec_hash, self.repository, self.owner)

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


def _template_failed(e: BaseException, what: str) -> InvalidValue:
    """A template that fails while rendering, said as the template's error, at its file and line:
    it is the template's (a user's, in jobs.templates_dir), not a bug in jenkins-kit."""
    where = ""
    tb = e.__traceback__
    while tb is not None:  # jinja rewrites tracebacks so template frames carry the template's file and line
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            where = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return InvalidValue(what, where or "template", f"a job template failed while rendering it: {type(e).__name__}: {e}",
                        "fix the template (jobs.templates_dir), e.g. test a value with `is defined` before using it")


def _norm_rel(path: str, field: str, value_path: str) -> str:
    if path.startswith("/") or ".." in path.split("/"):
        raise InvalidValue(value_path, path, "must be a relative path inside the repository", None)
    return posixpath.normpath(path) if path else "."


class _Renderer:
    def __init__(self, cfg: LabConfig, templates_dir: str | None) -> None:
        self.cfg = cfg
        self.env = template_env("job_templates", templates_dir)
        self._templates: dict[str, object] = {}
        self.owner = owner_of(cfg)
        self._digests: dict[str, str] = {}
        # What the templates see of the config beyond the repository and its merged job options (the
        # whole sections: a field they do not use only costs one extra update when it changes).
        self._shared_json = cfg.registry.model_dump_json() + "\0" + cfg.agents.model_dump_json()

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
        h = hashlib.sha256(f"jenkins-kit render {RENDER_SCHEME}\0".encode())
        todo, seen = [name], set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            try:
                assert self.env.loader is not None  # template_env always sets one
                source = self.env.loader.get_source(self.env, n)[0]
                refs = referenced_templates(self.env, source)
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

    def finish(self, text: str, full_name: str, spec_hash: str) -> str:
        """Put the real marker where the template rendered the placeholder one."""
        placeholder = escape.xml_text(marker(_PLACEHOLDER_HASH, self.owner, full_name))
        i = text.find(placeholder)
        if i < 0:
            raise InvalidValue("jobs.templates", "description", "a config.xml template must render `description` into <description>", None)
        real = escape.xml_text(marker(spec_hash, self.owner, full_name))
        return text[:i] + real + text[i + len(placeholder) :]

    def folder(self, full_name: str) -> RenderedJob:
        h = self.spec_hash(("folder.config.xml.j2",), "folder", full_name)

        def render() -> tuple[str, None]:
            desc = with_marker("Folder of jobs generated by jenkins-kit.", _PLACEHOLDER_HASH, self.owner, full_name)
            try:
                text = self.template("folder.config.xml.j2").render(description=desc, name=full_name)
            except jinja2.TemplateError as e:
                raise _template_failed(e, f"folder {full_name}") from None
            return self.finish(text, full_name, h), None

        return RenderedJob(full_name, "folder", spec_hash=h, owner=self.owner, disabled=False, render=render, has_jenkinsfile=False)

    def repo_job(self, i: int, repo: Repository) -> RenderedJob:
        """Name, kind and spec hash now, with every check that needs no template; the texts when first
        asked for (see the module doc)."""
        cfg = self.cfg
        job = merged_job_options(cfg, repo)
        kind = job.type or "pipeline"
        if kind == "multibranch":
            mode = "scm"
        else:
            mode = job.jenkinsfile or "generated"
        opts = job.model_dump()
        opts["type"] = kind
        opts["jenkinsfile"] = mode
        opts["script_path"] = job.script_path or DEFAULT_SCRIPT_PATH
        if kind == "pipeline" and mode == "generated":
            taken = {p["name"] for p in opts.get("parameters") or []}
            for e in repo.deploy.environments:
                if e.gate != "parameter":
                    continue
                if e.parameter in taken:
                    raise InvalidValue(f"repositories[{i}].job.parameters", e.parameter,
                                       f"is the gate parameter of environment {e.name!r}", "rename the job parameter")
                opts["parameters"] = [*(opts.get("parameters") or []), {
                    "name": e.parameter, "type": "boolean", "default": False, "choices": None,
                    "description": f"Deploy to {e.name} (namespace {e.target_namespace}) after the earlier environments"}]
        user_desc = job.description if job.description is not None else repo.description
        for field, value in (("description", user_desc),):
            if value and _MARKER_ANY.search(value):
                raise InvalidValue(f"repositories[{i}].{field}", value, "must not contain the jenkins-kit ownership marker", None)
        full_name = f"{job.folder}/{repo.name}" if job.folder else repo.name
        if kind == "freestyle":
            if not job.steps:
                raise InvalidValue(f"repositories[{i}].job.steps", "", "a freestyle job needs at least one shell step",
                                   "add job.steps: ['make test'] (or use type: pipeline)")
            if not job.label and cfg.agents.shell_template:
                # shell steps run in the agent container: the shell template's has kubectl and buildctl. Named,
                # not left to the usage mode, so the job still runs where agents.usage_mode is EXCLUSIVE.
                opts["label"] = cfg.agents.shell_label
        elif job.steps or job.cron or job.label:
            raise InvalidValue(f"repositories[{i}].job", kind, "steps, cron and label are for freestyle jobs",
                               "set job.type: freestyle, or drop them")
        generated = kind == "pipeline" and mode == "generated"
        templates: tuple[str, ...] = ({"multibranch": "multibranch.config.xml.j2", "freestyle": "freestyle.config.xml.j2"}
                                      .get(kind, "pipeline.config.xml.j2"),)
        if generated:
            where = f"repositories[{i}]"
            _norm_rel(repo.dockerfile, "dockerfile", f"{where}.dockerfile")  # said now, not halfway through an apply
            _norm_rel(repo.context, "context", f"{where}.context")
            if repo.deploy.manifests is not None:
                _norm_rel(repo.deploy.manifests, "manifests", f"{where}.deploy.manifests")
            template = job.template or DEFAULT_TEMPLATE
            templates += ("Jenkinsfile.j2" if template == DEFAULT_TEMPLATE else f"{template}.Jenkinsfile.j2", "deploy.yaml.j2")
        # pydantic's own JSON (fields in declaration order, so stable for one schema) is ~10x cheaper
        # than model_dump + json.dumps, and this runs once per job on every sync.
        h = self.spec_hash(templates, kind, mode, full_name, repo.model_dump_json(), job.model_dump_json(),
                           self._shared_json if generated else str(opts.get("label") or ""))

        def render() -> tuple[str, str | None]:
            try:
                return self._render_repo_job(i, repo, job, opts, user_desc, full_name, templates[0], h, generated)
            except ValueError as e:  # an escaper refusing a value no output language can carry
                if isinstance(e, InvalidValue):
                    raise
                raise InvalidValue(f"repositories[{i}] ({repo.name})", "", str(e),
                                   "remove control characters (other than tab and newline) from the repository's values") from None
            except jinja2.TemplateError as e:  # a template (yours, in jobs.templates_dir) failing on this repository
                raise _template_failed(e, f"repositories[{i}] ({repo.name})") from None

        return RenderedJob(full_name, kind, spec_hash=h, repository=repo.name, owner=self.owner, disabled=bool(job.disabled),
                           render=render, has_jenkinsfile=generated)

    def _render_repo_job(self, i: int, repo: Repository, job: JobOptions, opts: dict, user_desc: str | None, full_name: str,
                         tname: str, spec_hash: str, generated: bool) -> tuple[str, str | None]:
        desc = with_marker(user_desc or "", _PLACEHOLDER_HASH, self.owner, full_name)
        jenkinsfile = self.jenkinsfile(i, repo, job) if generated else None
        ctx = {
            "repo": repo,
            "job": opts,
            "description": desc,
            "jenkinsfile": jenkinsfile,
            "full_name": full_name,
            "source_id": "jenkins-kit-" + hashlib.sha256(full_name.encode("utf-8")).hexdigest()[:12],
            "scan": _scan(job.scan_interval_minutes),
        }
        return self.finish(self.template(tname).render(**ctx), full_name, spec_hash), jenkinsfile

    def jenkinsfile(self, i: int, repo: Repository, job: JobOptions) -> str:
        cfg = self.cfg
        where = f"repositories[{i}]"
        dockerfile = _norm_rel(repo.dockerfile, "dockerfile", f"{where}.dockerfile")
        context = _norm_rel(repo.context, "context", f"{where}.context")
        image = f"{cfg.registry.address}/{repo.image_name}"
        build = {
            "context": context,
            "dockerfile_dir": posixpath.dirname(dockerfile) or ".",
            "dockerfile_name": posixpath.basename(dockerfile),
            "image": image,
            "output_opts": cfg.registry.output_opts,
            "artifacts": list(repo.artifacts),
        }
        d = repo.deploy
        deployment = d.deployment or repo.name
        manifests = _norm_rel(d.manifests, "manifests", f"{where}.deploy.manifests") if d.manifests is not None else None
        pull_secret = cfg.registry.credentials.pull_secret_name if cfg.registry.credentials else None
        targets: list[tuple[str | None, str, str]] = [(e.name, e.target_namespace, e.gate) for e in d.environments]
        if not targets:  # one implicit environment: agents.deploy_namespace, with the historical stage names
            targets = [(None, cfg.agents.deploy_namespace, "none")]
        envs: list[dict[str, object]] = []
        for name, ns, gate in targets:
            env: dict[str, object] = {
                "name": name,
                "namespace": ns,
                "deployment": deployment,
                "manifests": manifests,
                "manifest_head": None,
                "manifest_tail": None,
                "gate": gate,
                "parameter": "DEPLOY_TO_" + name.upper().replace("-", "_") if name else None,
                "deploy_stage": f"Deploy to {name}" if name else "Deploy",
                "rollout_stage": f"Rollout {name}" if name else "Rollout",
                "file": f"jenkins-kit-deploy-{name}.yaml" if name else "jenkins-kit-deploy.yaml",
                "approve": f"Deploy {repo.name} to {name} (namespace {ns})?" if name else "",
                "kubeconfig": d.kubeconfig_credentials_id,
                "pull_secret": pull_secret,
            }
            if manifests is None:
                gen = d.generate or GeneratedDeploy()
                manifest = self.template("deploy.yaml.j2").render(
                    name=deployment, namespace=ns, image=image, gen=gen, pull_secret=pull_secret
                )
                head, sep, tail = manifest.partition("@@BUILD_NUMBER@@")
                if not sep:
                    raise InvalidValue("jobs.templates", "deploy.yaml.j2", "must contain @@BUILD_NUMBER@@ in the image tag", None)
                env["manifest_head"], env["manifest_tail"] = head, tail
            envs.append(env)
        deploy = envs[0]  # templates written for a single environment keep working
        template = job.template or DEFAULT_TEMPLATE
        tname = "Jenkinsfile.j2" if template == DEFAULT_TEMPLATE else f"{template}.Jenkinsfile.j2"
        tool = {"image": job.tool_image, "command": job.build_command}
        return self.template(tname).render(
            repo=repo, job=job, build=build, deploy=deploy, envs=envs, agent_label=cfg.agents.label,
            registry=cfg.registry.address, tool=tool
        )


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
    jobs = []
    for i, repo in enumerate(cfg.repositories):
        try:
            jobs.append(r.repo_job(i, repo))
        except ValueError as e:  # an escaper refusing a value no output language can carry
            raise InvalidValue(f"repositories[{i}] ({repo.name})", "", str(e),
                               "remove control characters (other than tab and newline) from the repository's values") from None
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
    """Render every job not rendered yet (raises the first `InvalidValue`, before anything is sent).

    Many jobs are rendered on every core (render/parallel.py): rendering is pure CPU in Python, so
    threads would not help, and a big sync renders everything it writes before its first write."""
    todo = [j for j in jobs if not j.rendered]
    if len(todo) >= PARALLEL_FROM:
        from jenkins_kit.render.parallel import map_forked

        for j, (xml, jf) in zip(todo, map_forked(todo, _texts)):
            j._set_rendered(xml, jf)
    else:
        for j in todo:
            j.config_xml  # noqa: B018 - rendering on first access is the point
    return jobs


def _texts(job: RenderedJob) -> tuple[str, str | None]:
    return job.config_xml, job.jenkinsfile


class RenderAhead:
    """Rendering started before it is known what will be sent, settled once it is (`use`).

    Why: `jobs apply` spends ~0.05 s importing its HTTP stack and listing Jenkins before its plan
    says which jobs it creates or updates, and only then renders them all (before the first write,
    so that a value no template can carry changes nothing), on a core that sat idle meanwhile. Started
    ahead, forked copies render during that time; `use` then joins in when most of the jobs are
    needed, or stops them (by PID) when few are (a no-op needs none: the spec hashes told). Nothing is
    sent or raised from here: a job whose render failed is simply left unrendered, for `render_all`
    to render, and fail, in order. Nothing starts below PARALLEL_FROM jobs or where forking is not
    possible (render/parallel.py)."""

    def __init__(self, jobs: list[RenderedJob]) -> None:
        self._todo = [j for j in jobs if not j.rendered]
        self._claimed: Claimed[RenderedJob, tuple[str, str | None]] | None = None
        if len(self._todo) >= PARALLEL_FROM:
            from jenkins_kit.render.parallel import Claimed

            self._claimed = Claimed(self._todo, _texts)

    def use(self, needed: int) -> None:
        """The caller will render `needed` of the jobs: finish the render when that is at least half
        of them, else stop it. Idempotent."""
        claimed, self._claimed = self._claimed, None
        if claimed is None:
            return
        if 2 * needed < len(self._todo):
            claimed.cancel()
            return
        for i, (xml, jf) in claimed.finish().items():
            self._todo[i]._set_rendered(xml, jf)

    def __enter__(self) -> RenderAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        claimed, self._claimed = self._claimed, None
        if claimed is not None:
            claimed.cancel()
