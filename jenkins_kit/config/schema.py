"""Schema of `jenkins-kit.yaml`: the typed, immutable desired state of one lab.

Every field is documented in docs/config.md; keep the two in step (tests/test_config_docs.py checks).
Secrets are only ever references (`SecretRef`), never values.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from jenkins_kit.config.exports_syntax import client_problem, option_problem

# Jenkins.checkGoodName: characters Jenkins refuses in item names (jenkins-remote-api.md §3.1).
JENKINS_UNSAFE_CHARS = set("?*/\\%!@#$^&|<>[]:;")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$")
_PLUGIN = re.compile(r"^[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-+]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(r"^[a-z0-9]+([._\-/:@a-zA-Z0-9]*)$")
_REGISTRY = re.compile(r"^([A-Za-z0-9.\-]+)(?::([0-9]{1,5}))?$")
# Every pattern here is applied with fullmatch: `re.match(...$)` also accepts a trailing "\n".
# The ownership marker render/jobs.py writes into descriptions (a user's text must not forge it).
_MARKER_ANY = re.compile(r"\[managed by jenkins-kit; spec [0-9a-f]{16}\]")


def _dns_label(v: str) -> str:
    if len(v) > 63 or not _DNS1123_LABEL.fullmatch(v):
        raise ValueError(
            "must be a Kubernetes DNS-1123 label: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return v


def _dns_subdomain(v: str) -> str:
    if len(v) > 253 or not all(_DNS1123_LABEL.fullmatch(p) for p in v.split(".")):
        raise ValueError("must be a Kubernetes DNS-1123 subdomain: lowercase labels separated by '.'")
    return v


def jenkins_name_problem(v: str) -> str | None:
    """Why `v` cannot be a Jenkins item name (Jenkins.checkGoodName), or None."""
    t = v.strip()
    if not t:
        return "a Jenkins item name cannot be empty"
    if t in (".", ".."):
        return f"'{t}' is not an allowed Jenkins item name"
    # Item names become folder names of the rendered bundle (jobs/<folder>/<name>/) and lines of logs:
    # no control, format (bidi overrides) or line/paragraph separator characters.
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in v):
        return "control characters (and invisible format or line-separator characters) are not allowed in a Jenkins item name"
    bad = next((c for c in v if c in JENKINS_UNSAFE_CHARS), None)
    if bad is not None:
        return f"'{bad}' is an unsafe character in a Jenkins item name"
    if t.endswith("."):
        return "a Jenkins item name cannot end with '.'"
    if t != v:
        return "a Jenkins item name cannot start or end with whitespace (Jenkins trims it)"
    return None


def _jenkins_name(v: str) -> str:
    problem = jenkins_name_problem(v)
    if problem:
        raise ValueError(problem)
    return v


def _folder_path(v: str) -> str:
    for seg in v.split("/"):
        problem = jenkins_name_problem(seg)
        if problem:
            raise ValueError(f"folder segment {seg!r}: {problem}")
    return v


def _quantity(v: str) -> str:
    if not _QUANTITY.fullmatch(v):
        raise ValueError("must be a Kubernetes quantity such as 10Gi, 512Mi or 500m")
    return v


def _abs_path(v: str) -> str:
    # exports(5) and mount options are whitespace/quote sensitive: keep to a portable path charset.
    if not re.fullmatch(r"(/[A-Za-z0-9._\-]+)+", v) or "/../" in v + "/" or "/./" in v + "/":
        raise ValueError(
            "must be an absolute path of letters, digits, '.', '_' and '-' segments, without a trailing '/' "
            "(e.g. /nfs_shared/jenkins)"
        )
    return v


def _image(v: str) -> str:
    if not _IMAGE.fullmatch(v) or len(v) > 255:
        raise ValueError("must be a container image reference such as moby/buildkit:v0.25.1-rootless")
    return v


def _host_or_ip(v: str) -> str:
    try:
        ipaddress.ip_address(v)
        return v
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", v):  # RFC 1123: an all-numeric name is an address, and this one is not valid
        raise ValueError(f"{v!r} is not a valid IPv4 address (each of the four parts is 0-255)")
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*", v):
        raise ValueError("must be an IP address or a host name")
    return v


def _registry(v: str) -> str:
    m = _REGISTRY.fullmatch(v)
    if not m:
        raise ValueError("must be host[:port] of a registry, e.g. 192.168.1.10:8443 (no scheme, no path)")
    _host_or_ip(m.group(1))
    if m.group(2) is not None and not 1 <= int(m.group(2)) <= 65535:
        raise ValueError(f"port {m.group(2)} is out of range (1-65535)")
    return v


def _ip_range(v: str) -> str:
    """A MetalLB IPAddressPool entry: a CIDR (192.168.1.0/28) or a range (192.168.1.11-192.168.1.29)."""
    if "-" in v:
        lo, _, hi = v.partition("-")
        try:
            a, b = ipaddress.ip_address(lo.strip()), ipaddress.ip_address(hi.strip())
        except ValueError:
            raise ValueError(f"{v!r} is not a range of two IP addresses (e.g. 192.168.1.11-192.168.1.29)") from None
        if a.version != b.version or int(a) > int(b):
            raise ValueError(f"{v!r}: the range must go from a lower to a higher address of the same family")
        return v
    try:
        ipaddress.ip_network(v, strict=False)
    except ValueError:
        raise ValueError(f"{v!r} is neither a CIDR (192.168.1.0/28) nor a range (192.168.1.11-192.168.1.29)") from None
    if "/" not in v:
        raise ValueError(f"{v!r} is a single address: write it as {v}/32 (or a range)")
    return v


def in_pool(ip: str, entries: list[str]) -> bool:
    """Whether an address lies in one of MetalLB's pool entries (CIDRs or first-last ranges)."""
    addr = ipaddress.ip_address(ip)
    for e in entries:
        if "-" in e:
            lo, _, hi = e.partition("-")
            a, b = ipaddress.ip_address(lo.strip()), ipaddress.ip_address(hi.strip())
            if a.version == addr.version and int(a) <= int(addr) <= int(b):
                return True
        elif addr in ipaddress.ip_network(e, strict=False):
            return True
    return False


def _rel_path(v: str) -> str:
    """A path inside the repository: relative, without '..', printable."""
    if v.startswith("/") or ".." in v.split("/"):
        raise ValueError("must be a relative path inside the repository (no leading '/', no '..')")
    if not v or any(ord(c) < 0x20 or ord(c) == 0x7F for c in v):
        raise ValueError("must be a non-empty path without control characters")
    return v


def _nfs_options(v: list[str]) -> list[str]:
    problem = option_problem(v)
    if problem:
        raise ValueError(f"{problem} (exports(5))")
    return v


def _no_marker(v: str) -> str:
    if _MARKER_ANY.search(v):
        raise ValueError("must not contain the jenkins-kit ownership marker '[managed by jenkins-kit; spec ...]'")
    return v


def _ipv4(v: str) -> str:
    try:
        ipaddress.IPv4Address(v)
    except ValueError:
        raise ValueError("must be an IPv4 address such as 192.168.1.11") from None
    return v


def _plugin(v: str) -> str:
    if not _PLUGIN.fullmatch(v):
        raise ValueError("must be pinned as 'shortName:version' (e.g. kubernetes:4358.vcfd9c5a_0a_f51)")
    if v.split(":", 1)[1] in ("latest", "experimental"):
        raise ValueError("must be pinned to a version, not 'latest'/'experimental'")
    return v


_GIT_SCHEME = re.compile(r"^(https?|git|ssh|file)://")
_GIT_SCP = re.compile(r"^[\w.\-]+@[\w.\-]+:")


_GIT_WS = re.compile(r"[\n\r\t ]")


def _git_url(v: str) -> str:
    if not v or _GIT_WS.search(v):
        raise ValueError("must be a git URL without whitespace")
    if not (_GIT_SCHEME.match(v) or _GIT_SCP.match(v) or v.startswith("/")):
        raise ValueError("must be a git URL (https://, ssh://, git://, file://, user@host:path) or an absolute path")
    if "://" in v and "@" in v:  # a password needs userinfo, which needs '@' (runs per repository: 10,000 in a big lab)
        parts = urlsplit(v)
        if parts.password is not None:
            raise ValueError(
                "must not carry a password or token: it would be written into job configs and Jenkinsfiles; "
                "use credentials_id (a Jenkins credential) instead"
            )
    return v


def _artifact(v: str) -> str:
    # Checked by the generated shell as "$KIT_CONTEXT"/$f (glob expanded): no spaces, quotes or shell syntax.
    if not re.fullmatch(r"[A-Za-z0-9._*?+@\-]+(/[A-Za-z0-9._*?+@\-]+)*/?", v) or ".." in v.split("/"):
        raise ValueError("must be a relative path inside the build context (letters, digits, . _ - + @ and * ? globs), e.g. target/app.jar")
    return v


def _git_branch(v: str) -> str:
    # git check-ref-format rules, simplified to what matters for us.
    if not v or v.startswith(("-", "/")) or v.endswith(("/", ".", ".lock")) or ".." in v or "@{" in v or "//" in v:
        raise ValueError("is not a valid git branch name")
    if any(ord(c) < 0x20 or c in " ~^:?*[\\\x7f" for c in v):
        raise ValueError("is not a valid git branch name (no spaces or ~^:?*[\\ characters)")
    return v


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
JenkinsName = Annotated[str, AfterValidator(_jenkins_name)]
FolderPath = Annotated[str, AfterValidator(_folder_path)]
Quantity = Annotated[str, AfterValidator(_quantity)]
AbsPath = Annotated[str, AfterValidator(_abs_path)]
Image = Annotated[str, AfterValidator(_image)]
HostOrIp = Annotated[str, AfterValidator(_host_or_ip)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
PluginPin = Annotated[str, AfterValidator(_plugin)]
GitUrl = Annotated[str, AfterValidator(_git_url)]
GitBranch = Annotated[str, AfterValidator(_git_branch)]
Port = Annotated[int, Field(ge=1, le=65535)]
RelPath = Annotated[str, AfterValidator(_rel_path)]


LOC_MARK = "\x00"


def located(rel: tuple[object, ...], message: str) -> ValueError:
    """A ValueError from a model validator that points at a field inside the model.

    Pydantic locates model-validator errors at the model itself; the loader reads this marker
    to point the user at the exact field instead.
    """
    return ValueError(LOC_MARK + json.dumps(list(rel)) + LOC_MARK + message)


def _nfs_client(v: str) -> str:
    problem = client_problem(v)
    if problem:
        raise ValueError(f"{problem}; exports(5) takes a host, an IP, a network/prefix, a wildcard or @netgroup")
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SecretKeyRef(_Model):
    name: DnsSubdomain
    key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$")]


class SecretRef(_Model):
    """Where a secret value comes from. Exactly one of env, file or secret."""

    env: Annotated[str, Field(pattern=_ENV_NAME.pattern)] | None = None
    file: str | None = None
    secret: SecretKeyRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "SecretRef":
        given = [k for k in ("env", "file", "secret") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a secret reference needs exactly one of 'env' (variable name), 'file' (path) "
                "or 'secret' ({name, key} of an existing Kubernetes Secret); values are never written in the config"
            )
        return self


class Cluster(_Model):
    kubeconfig: str | None = None
    context: str | None = None
    namespace: DnsLabel = "jenkins"
    control_plane_node: DnsSubdomain = "m-k8s"
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")] = "1.34"


class Nfs(_Model):
    server: HostOrIp
    path: AbsPath
    size: Quantity = "10Gi"
    uid: Annotated[int, Field(ge=0, le=2**31 - 1)] = 1000
    gid: Annotated[int, Field(ge=0, le=2**31 - 1)] = 1000
    clients: list[Annotated[str, AfterValidator(_nfs_client)]] = Field(default_factory=lambda: ["192.168.1.0/24"], min_length=1)
    options: Annotated[list[Annotated[str, Field(pattern=r"^[a-z_]+(=[A-Za-z0-9_:./\-]+)?$")]], AfterValidator(_nfs_options)] = Field(
        default_factory=lambda: ["rw", "sync", "no_root_squash", "no_subtree_check"]
    )
    volume_name: DnsSubdomain = "jenkins"
    claim_name: DnsSubdomain = "jenkins"


class Admin(_Model):
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-@]+$", max_length=64)] = "admin"
    existing_secret: DnsSubdomain = "jenkins-admin"
    user_key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$")] = "jenkins-admin-user"
    password_key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$")] = "jenkins-admin-password"
    password: SecretRef | None = None


class Service(_Model):
    type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    port: Port = 80
    target_port: Port = 8080
    load_balancer_ip: IPv4 | None = None
    node_port: Annotated[int, Field(ge=30000, le=32767)] | None = None


class StringCredential(_Model):
    """A Jenkins credential whose secret part lives in an existing Kubernetes Secret (never in the config).

    kind string: secret text (`secret`); usernamePassword: `username` + password (`secret`);
    sshPrivateKey: `username` + private key (`secret`), optional `passphrase`; file: the file's content
    (`secret`, e.g. a kubeconfig), named `file_name` in builds."""

    id: JenkinsName
    secret: SecretKeyRef
    description: str = ""
    kind: Literal["string", "usernamePassword", "sshPrivateKey", "file"] = "string"
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-@]+$", max_length=255)] | None = None
    passphrase: SecretKeyRef | None = None
    file_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=255)] | None = None

    @model_validator(mode="after")
    def _labels(self) -> "StringCredential":
        # The chart mounts additionalExistingSecrets as `<name>-<key>`; both must be DNS labels.
        refs = [(self.secret, "secret")] + ([(self.passphrase, "passphrase")] if self.passphrase else [])
        for ref, base in refs:
            for part, what in ((ref.name, f"{base}.name"), (ref.key, f"{base}.key")):
                try:
                    _dns_label(part)
                except ValueError:
                    raise located(tuple(what.split(".")), f"{part!r} must be a lowercase DNS label: the Helm chart mounts it as ${{<name>-<key>}}") from None
        needs_user = self.kind in ("usernamePassword", "sshPrivateKey")
        if needs_user and not self.username:
            raise located(("username",), f"a {self.kind} credential needs 'username' (not secret; the password/key comes from 'secret')")
        if not needs_user and self.username is not None:
            raise located(("username",), f"'username' is only for usernamePassword and sshPrivateKey credentials, not {self.kind}")
        if self.passphrase is not None and self.kind != "sshPrivateKey":
            raise located(("passphrase",), "'passphrase' is only for sshPrivateKey credentials")
        if self.file_name is not None and self.kind != "file":
            raise located(("file_name",), "'file_name' is only for file credentials")
        return self


class JcascFile(_Model):
    """A user JCasC fragment, delivered beside jenkins-kit's own (jenkins_kit/additions.py)."""

    file: Annotated[str, Field(min_length=1, pattern=r"^[^\n\r]+\.ya?ml$")]
    # JCasC paths (jenkins.systemMessage) jenkins-kit also sets that this fragment may replace.
    override: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")]] = Field(default_factory=list)


def _first(issues: list[tuple[tuple[Any, ...], str, str | None]], prefix: tuple[Any, ...]) -> ValueError:
    loc, message, hint = issues[0]
    more = f" ({len(issues) - 1} more problem(s) after this one)" if len(issues) > 1 else ""
    return located(prefix + tuple(loc), message + more + (f". Fix: {hint}" if hint else ""))


class Jenkins(_Model):
    release: DnsLabel = "jenkins"
    chart: str = "jenkins"
    chart_repo: str = "https://charts.jenkins.io"
    chart_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")] = "5.9.53"
    image_tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")] = "2.568.2-jdk21"
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+/$")] | None = None
    admin: Admin = Admin()
    service: Service = Service()
    timezone: Annotated[str, Field(pattern=r"^[A-Za-z_+\-0-9]+(/[A-Za-z_+\-0-9]+)*$")] = "Asia/Seoul"
    session_timeout_minutes: Annotated[int, Field(ge=0, le=525600)] = 1440
    session_eviction_seconds: Annotated[int, Field(ge=0, le=31536000)] = 86400
    system_message: str = "Managed by jenkins-kit: changes made in the UI may be overwritten."
    credentials: list[StringCredential] = Field(default_factory=list)
    # The chart 5.9.53's own tested set (charts/jenkins/values.yaml controller.installPlugins). Everything the
    # rendered files use beyond these four (credentials, plain-credentials, cloudbees-folder, workflow-multibranch,
    # pipeline-model-definition, ...) is in their dependency closure; pinning it too only adds floors to clear.
    plugins: list[PluginPin] = Field(
        default_factory=lambda: [
            "kubernetes:4540.v612369217f87",
            "workflow-aggregator:608.v67378e9d3db_1",
            "git:5.10.1",
            "configuration-as-code:2115.vf6de120eef70",
        ]
    )

    jcasc_files: list[JcascFile] = Field(default_factory=list)
    helm_values: dict[str, Any] = Field(default_factory=dict)
    helm_values_override: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _pins_install(self) -> "Jenkins":
        # The plugin installer and core refuse these only when the controller starts (jenkins_kit/plugins.py).
        from jenkins_kit.plugins import check_pins, core_of_image_tag

        problems = check_pins(list(self.plugins), core_of_image_tag(self.image_tag))
        if problems:
            p = problems[0]
            more = f" ({len(problems) - 1} more pin problem(s) after this one)" if len(problems) > 1 else ""
            raise located(("plugins", p.index) if p.index >= 0 else ("plugins",), f"{p.message}{more}. Fix: {p.fix}")
        return self


class RegistryCredentials(_Model):
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-@]+$", max_length=255)]
    password: SecretRef
    secret_name: DnsSubdomain = "registry-credentials"
    credentials_id: JenkinsName = "registry"
    # kubernetes.io/dockerconfigjson Secret `up` writes into every deploy namespace; generated Deployments
    # name it in imagePullSecrets so the nodes can pull what the pipeline pushed.
    pull_secret_name: DnsSubdomain = "registry-pull"


class Registry(_Model):
    address: Annotated[str, AfterValidator(_registry)]
    insecure: bool = False
    credentials: RegistryCredentials | None = None

    @property
    def output_opts(self) -> str:
        """What buildctl's `--output type=image,...` needs appended for this registry (pipelines and shell steps alike)."""
        return ",registry.insecure=true" if self.insecure else ""


class Resources(_Model):
    cpu: Quantity = "500m"
    memory: Quantity = "512Mi"


class ExtraPodTemplate(_Model):
    """A user pod template (JCasC PodTemplate attributes), added to jenkins-kit's Kubernetes cloud."""

    template: dict[str, Any]
    override: bool = False  # replace jenkins-kit's own template of the same name


PRIVILEGED_BUILDER_IMAGE = "moby/buildkit:v0.25.1"


class Agents(_Model):
    namespace: DnsLabel = "jenkins"
    deploy_namespace: DnsLabel = "default"
    service_account: DnsSubdomain = "jenkins-agent"
    label: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")] = "jenkins-kit-agent"
    # Node.Mode of jenkins-kit's pod template (kubernetes PodTemplate#setNodeUsageMode). NORMAL: the cloud also
    # provisions for builds that name no label (`agent any`, freestyle jobs), as in the textbook's template;
    # EXCLUSIVE: only for builds that ask for `label` (keep a shared cloud for the jobs that name it).
    usage_mode: Literal["NORMAL", "EXCLUSIVE"] = "NORMAL"
    jnlp_image: Image = "jenkins/inbound-agent:3345.v03dee9b_f88fc-1"
    # rootless: BuildKit as uid 1000 in a user namespace (needs unprivileged user namespaces on the nodes);
    # privileged: BuildKit as root in a privileged container, for nodes without them (CentOS 7:
    # user.max_user_namespaces=0). `jenkins-kit doctor` reads the nodes and says which one can run.
    builder: Literal["rootless", "privileged"] = "rootless"
    builder_image: Image = "moby/buildkit:v0.25.1-rootless"
    kubectl_image: Image = "alpine/kubectl:1.34.2"
    requests: Resources = Resources()
    container_cap: Annotated[int, Field(ge=1, le=1000)] = 10
    # A second pod template, `<label>-shell`, for work whose steps run in the agent container itself
    # (freestyle shell steps, `agent any` pipelines): there the inbound-agent container gets kubectl and
    # buildctl on its PATH and a BuildKit daemon beside it. It takes the unlabelled work (usage_mode) and
    # jenkins-kit's pipeline template keeps only the builds that name it.
    shell_template: bool = True
    pod_templates: list[ExtraPodTemplate] = Field(default_factory=list)

    @property
    def shell_label(self) -> str:
        return f"{self.label}-shell"

    @property
    def managed_templates(self) -> set[str]:
        return {self.label, self.shell_label} if self.shell_template else {self.label}

    @model_validator(mode="before")
    @classmethod
    def _builder_image(cls, data: Any) -> Any:
        # The privileged builder runs the image's rootful daemon: default to the same release without -rootless.
        if isinstance(data, dict) and data.get("builder") == "privileged" and "builder_image" not in data:
            data = {**data, "builder_image": PRIVILEGED_BUILDER_IMAGE}
        return data

    @model_validator(mode="after")
    def _pod_templates(self) -> "Agents":
        from jenkins_kit.additions import check_pod_template

        seen: dict[str, int] = {}
        for i, extra in enumerate(self.pod_templates):
            issues = check_pod_template(extra.template, self.managed_templates, extra.override)
            if issues:
                raise _first(issues, ("pod_templates", i, "template"))
            name = str(extra.template["name"])
            if name in seen:
                raise located(("pod_templates", i, "template", "name"), f"{name!r} repeats agents.pod_templates[{seen[name]}]")
            seen[name] = i
        return self


class GeneratedDeploy(_Model):
    replicas: Annotated[int, Field(ge=0, le=1000)] = 1
    container_port: Port = 8080
    service_port: Port = 80
    service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"


class Environment(_Model):
    """One stage of a promotion chain (dev -> qa -> prod): the same image deployed to its namespace."""

    name: DnsLabel
    namespace: DnsLabel | None = None  # default: the name
    # What must happen before deploying here: nothing, a person approving the paused build (stage `input`),
    # or a job parameter DEPLOY_TO_<NAME> ticked when the build was started (stage `when`).
    gate: Literal["none", "input", "parameter"] = "none"

    @property
    def target_namespace(self) -> str:
        return self.namespace or self.name

    @property
    def parameter(self) -> str:
        return "DEPLOY_TO_" + self.name.upper().replace("-", "_")


class Deploy(_Model):
    """Either the repository's own manifests (`manifests: path`) or a generated Deployment + Service."""

    manifests: str | None = None
    generate: GeneratedDeploy | None = None
    # The Deployment the pipeline points at the new image and waits for (default: the repository name).
    deployment: DnsSubdomain | None = None
    # Deploy to several namespaces in order (default: agents.deploy_namespace only).
    environments: list[Environment] = Field(default_factory=list, max_length=20)
    # A Jenkins `file` credential holding a kubeconfig (the chapter's `kubeconfig`): kubectl uses it
    # (KUBECONFIG, credentials-binding) instead of the agent ServiceAccount, e.g. for another cluster.
    kubeconfig_credentials_id: JenkinsName | None = None

    @model_validator(mode="after")
    def _envs(self) -> "Deploy":
        names: dict[str, int] = {}
        spaces: dict[str, int] = {}
        for i, e in enumerate(self.environments):
            if e.name in names:
                raise located(("environments", i, "name"), f"{e.name!r} repeats environments[{names[e.name]}].name")
            if e.target_namespace in spaces:
                raise located(("environments", i, "namespace"),
                              f"namespace {e.target_namespace!r} repeats environments[{spaces[e.target_namespace]}]'s")
            names[e.name], spaces[e.target_namespace] = i, i
        return self

    @model_validator(mode="after")
    def _one(self) -> "Deploy":
        if self.manifests is not None and self.generate is not None:
            raise located(("generate",), "set either 'manifests' (a path in the repository) or 'generate', not both")
        if self.manifests is not None and (self.manifests.startswith("/") or ".." in self.manifests.split("/")):
            raise located(("manifests",), "must be a relative path inside the repository")
        return self


class Parameter(_Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
    type: Literal["string", "boolean", "choice"] = "string"
    default: str | bool | None = None
    choices: list[str] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _shape(self) -> "Parameter":
        if self.type == "choice" and not self.choices:
            raise located(("type",), "a choice parameter needs a non-empty 'choices' list")
        if self.type != "choice" and self.choices is not None:
            raise located(("choices",), "'choices' is only valid with type: choice")
        if self.type == "boolean" and self.default is not None and not isinstance(self.default, bool):
            raise located(("default",), "a boolean parameter's default must be true or false")
        if self.type != "boolean" and isinstance(self.default, bool):
            raise located(("default",), f"a {self.type} parameter's default must be text; quote it ('true')")
        return self


class JobOptions(_Model):
    """How the Jenkins job for a repository is shaped. Every field is optional so `jobs.defaults`
    and per-repository `job:` can be merged (repository wins)."""

    type: Literal["pipeline", "multibranch", "freestyle"] | None = None
    folder: FolderPath | None = None
    jenkinsfile: Literal["generated", "scm"] | None = None
    script_path: RelPath | None = None
    template: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")] | None = None
    parameters: list[Parameter] | None = None
    poll_scm: str | None = None
    keep_builds: Annotated[int, Field(ge=1, le=100000)] | None = None
    description: Annotated[str, AfterValidator(_no_marker)] | None = None
    disabled: bool | None = None
    # Multibranch only: how often Jenkins re-scans the repository for branches (none: on demand).
    scan_interval_minutes: Annotated[int, Field(ge=1, le=10080)] | None = None
    # Language templates: the build tool's image and the shell command that produces what the Dockerfile copies
    # (run in the build context, in the same agent pod as the image build). Default: the template's.
    tool_image: Image | None = None
    build_command: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    # Freestyle only: shell build steps (run in the checkout, on the agent's jnlp container), a
    # "build periodically" cron spec, and a label expression restricting where it runs (none: any agent
    # that takes unlabelled work, i.e. jenkins-kit's template with agents.usage_mode NORMAL).
    steps: list[Annotated[str, Field(min_length=1, max_length=65536)]] | None = None
    cron: str | None = None
    label: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class Repository(_Model):
    name: DnsLabel
    git: GitUrl
    branch: GitBranch = "main"
    image: Annotated[str, Field(pattern=r"^[a-z0-9]+([._\-/][a-z0-9]+)*$", max_length=200)] | None = None
    dockerfile: RelPath = "Dockerfile"
    context: RelPath = "."
    credentials_id: JenkinsName | None = None
    # Paths (relative to `context`, globs allowed) the build must produce before the image build: what the
    # Dockerfile COPYs that is not in git (`jobs discover` reads them from the Dockerfile).
    artifacts: list[Annotated[str, AfterValidator(_artifact)]] = Field(default_factory=list, max_length=50)
    deploy: Deploy = Deploy()
    job: JobOptions = JobOptions()
    description: Annotated[str, AfterValidator(_no_marker)] = ""

    @property
    def image_name(self) -> str:
        return self.image or self.name


class Jobs(_Model):
    # This config's identity in the ownership marker of every item it writes: plan/apply/prune/adopt act
    # only on items carrying it. Default `<jenkins.release>.<cluster.namespace>`; set a distinct one per
    # config when several configs share one Jenkins.
    owner: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9.\-]{0,61}[a-z0-9])?$")] | None = None
    defaults: JobOptions = JobOptions()
    templates_dir: str | None = None
    workers: Annotated[int, Field(ge=1, le=64)] = 16


class MetalLB(_Model):
    enabled: bool = True
    addresses: list[Annotated[str, AfterValidator(_ip_range)]] = Field(default_factory=lambda: ["192.168.1.11-192.168.1.29"], min_length=1)
    chart_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")] = "0.15.2"
    namespace: DnsLabel = "metallb-system"


class LabConfig(_Model):
    version: Literal[1] = 1
    cluster: Cluster = Cluster()
    nfs: Nfs
    jenkins: Jenkins = Jenkins()
    registry: Registry
    agents: Agents = Agents()
    jobs: Jobs = Jobs()
    metallb: MetalLB | None = None
    repositories: list[Repository] = Field(default_factory=list)

    @model_validator(mode="after")
    def _helm_values(self) -> "LabConfig":
        if not self.jenkins.helm_values:
            return self
        from jenkins_kit.additions import check_helm_values
        from jenkins_kit.render.helm_values import managed_values

        issues = check_helm_values(self.jenkins.helm_values, managed_values(self, {}), list(self.jenkins.helm_values_override))
        if issues:
            raise _first(issues, ("jenkins", "helm_values"))
        return self

    @model_validator(mode="after")
    def _credential_kinds(self) -> "LabConfig":
        """A credential id a job uses must be of a kind that use accepts, when the config defines it."""
        kinds = {c.id: c.kind for c in self.jenkins.credentials}
        if self.registry.credentials:
            kinds.setdefault(self.registry.credentials.credentials_id, "usernamePassword")
        for i, r in enumerate(self.repositories):
            k = kinds.get(r.credentials_id or "")
            if k is not None and k not in ("usernamePassword", "sshPrivateKey"):
                raise located(("repositories", i, "credentials_id"),
                              f"{r.credentials_id!r} is a {k} credential; git needs usernamePassword (https) or sshPrivateKey (ssh)")
            k = kinds.get(r.deploy.kubeconfig_credentials_id or "")
            if k is not None and k != "file":
                raise located(("repositories", i, "deploy", "kubeconfig_credentials_id"),
                              f"{r.deploy.kubeconfig_credentials_id!r} is a {k} credential; a kubeconfig is a file credential")
        return self

    @model_validator(mode="after")
    def _lb_ip_in_pool(self) -> "LabConfig":
        # MetalLB assigns a requested address (metallb.io/loadBalancerIPs) only from a pool; one
        # outside every pool leaves the Service <pending> with an AllocationFailed event.
        ip, m = self.jenkins.service.load_balancer_ip, self.metallb
        if ip and m is not None and m.enabled and self.jenkins.service.type == "LoadBalancer" and not in_pool(ip, m.addresses):
            raise located(("jenkins", "service", "load_balancer_ip"),
                          f"{ip} is outside every metallb.addresses entry ({', '.join(m.addresses)}): MetalLB would never "
                          "assign it; pick an address inside the pool or widen metallb.addresses")
        return self

    @model_validator(mode="after")
    def _unique_repos(self) -> "LabConfig":
        seen: dict[str, int] = {}
        for i, r in enumerate(self.repositories):
            key = r.name.lower()
            if key in seen:
                raise located(
                    ("repositories", i, "name"),
                    f"{r.name!r} repeats repositories[{seen[key]}].name "
                    "(names are job names, and Jenkins compares them case-insensitively)",
                )
            seen[key] = i
        # Job and folder names, as render/jobs.py derives them: Jenkins compares them case-insensitively.
        folders: dict[str, int] = {}
        for i, r in enumerate(self.repositories):
            folder = r.job.folder if r.job.folder is not None else self.jobs.defaults.folder
            parts = folder.split("/") if folder else []
            for k in range(1, len(parts) + 1):
                folders.setdefault("/".join(parts[:k]).lower(), i)
        for i, r in enumerate(self.repositories):
            folder = r.job.folder if r.job.folder is not None else self.jobs.defaults.folder
            full = f"{folder}/{r.name}" if folder else r.name
            if full.lower() in folders:
                j = folders[full.lower()]
                raise located(
                    ("repositories", i, "name"),
                    f"the job {full!r} would have the same name as the folder of repositories[{j}] "
                    "(Jenkins names are case-insensitive); rename the repository or the folder",
                )
        return self
