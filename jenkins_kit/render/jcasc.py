"""JCasC fragments (one per concern), delivered through the chart's `controller.JCasC.configScripts`."""

from __future__ import annotations

from pathlib import Path

import yaml

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.render.env import template_env
from jenkins_kit.render.names import in_cluster_url, public_url, tunnel

# configScripts key -> template; keys become file names in casc_configs, so DNS labels only.
FRAGMENTS = {
    "jenkins-kit-system": "system.yaml.j2",
    "jenkins-kit-credentials": "credentials.yaml.j2",
    "jenkins-kit-cloud": "cloud.yaml.j2",
}


def render_jcasc(cfg: LabConfig, base_dir: Path | str | None = None) -> dict[str, str]:
    """Every JCasC document the controller reads: jenkins-kit's fragments, then the user's `jenkins.jcasc_files`
    (read from `base_dir`, the config file's folder; checked when the config was loaded)."""
    from jenkins_kit.additions import read_fragments

    out = render_managed_jcasc(cfg)
    for key, (_, text) in read_fragments(cfg, Path(base_dir) if base_dir is not None else None).items():
        out[key] = text
    return out


def _extra_templates(cfg: LabConfig) -> list[str]:
    """The user's pod templates as YAML items of the cloud's `templates:` list (10 spaces in), each with a
    stable id (its name) unless it has one."""
    blocks = []
    for extra in cfg.agents.pod_templates:
        t = {"id": extra.template["name"], **extra.template}
        text = yaml.safe_dump([t], sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
        blocks.append("".join("          " + line for line in text.splitlines(keepends=True)).rstrip("\n"))
    return blocks


# Where the shell template puts its tools and the BuildKit socket (emptyDirs shared by the pod's containers).
SHELL_TOOLS_DIR = "/opt/jenkins-kit/bin"
SHELL_BUILDKIT_SOCKET = "unix:///run/buildkit/buildkitd.sock"
SHELL_DOCKER_CONFIG = "/home/jenkins/.docker"  # the registry Secret's config.json, for buildctl's push
# The inbound-agent image's PATH (jenkinsci/docker-agent debian/Dockerfile: JAVA_HOME/bin before Debian's
# default), with the tools first. A container's env PATH replaces the image's, so it is spelled out whole.
SHELL_PATH = f"{SHELL_TOOLS_DIR}:/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def shell_pod_yaml(cfg: LabConfig, apparmor_field: bool) -> str:
    """The raw pod part of the shell template: what the plugin's structured fields cannot say (init
    containers, named volumes mounted into chosen containers, a probe). The kubernetes plugin merges it with
    the template's own containers by name (PodTemplateUtils#combine), so jnlp keeps its image and args.

    Init containers copy kubectl (from agents.kubectl_image) and buildctl (from agents.builder_image) into
    an emptyDir on the agent container's PATH: both are static Go binaries, so they run in the Debian-based
    inbound-agent. The daemon runs beside it, as the pipeline template's builder does, listening on a socket
    in a second emptyDir; buildctl finds it through BUILDKIT_HOST."""
    a = cfg.agents
    rootless = a.builder == "rootless"
    sock_dir = "/run/buildkit"
    tools: dict[str, object] = {"name": "jenkins-kit-tools", "mountPath": SHELL_TOOLS_DIR}
    sock: dict[str, object] = {"name": "buildkit-socket", "mountPath": sock_dir}
    daemon_args = ["--addr", SHELL_BUILDKIT_SOCKET]
    if rootless:
        daemon_args.append("--oci-worker-no-process-sandbox")
        daemon_sc: dict[str, object] = {"runAsUser": 1000, "runAsGroup": 1000, "seccompProfile": {"type": "Unconfined"}}
        if apparmor_field:
            daemon_sc["appArmorProfile"] = {"type": "Unconfined"}
    else:
        # rootful buildkitd: the socket's group is the agent's, so uid 1000 in jnlp may connect (buildkitd --group)
        daemon_args += ["--group", "1000"]
        daemon_sc = {"privileged": True, "runAsUser": 0, "runAsGroup": 0}

    def copy(name: str, image: str, binary: str) -> dict[str, object]:
        return {"name": name, "image": image, "command": ["sh", "-c", f'cp "$(command -v {binary})" {SHELL_TOOLS_DIR}/{binary}'],
                "volumeMounts": [tools]}

    jnlp_mounts: list[dict[str, object]] = [tools, sock]
    volumes: list[dict[str, object]] = [{"name": "jenkins-kit-tools", "emptyDir": {}}, {"name": "buildkit-socket", "emptyDir": {}}]
    if cfg.registry.credentials:
        # buildctl reads the push credentials from DOCKER_CONFIG on the client side (its session auth provider)
        jnlp_mounts.append({"name": "registry-config", "mountPath": SHELL_DOCKER_CONFIG, "readOnly": True})
        volumes.append({"name": "registry-config", "secret": {"secretName": cfg.registry.credentials.secret_name}})
    probe = ["buildctl", "--addr", SHELL_BUILDKIT_SOCKET, "debug", "workers"]
    pod: dict[str, object] = {
        "spec": {
            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
            "initContainers": [copy("tools-kubectl", a.kubectl_image, "kubectl"),
                               copy("tools-buildctl", a.builder_image, "buildctl")],
            "containers": [
                {"name": "jnlp", "volumeMounts": jnlp_mounts},
                {"name": "buildkitd", "image": a.builder_image, "args": daemon_args, "securityContext": daemon_sc,
                 "volumeMounts": [sock],
                 "readinessProbe": {"exec": {"command": probe}, "initialDelaySeconds": 2, "periodSeconds": 5},
                 "resources": {"requests": {"cpu": a.requests.cpu, "memory": a.requests.memory}}},
            ],
            "volumes": volumes,
        }
    }
    if rootless and not apparmor_field:
        pod["metadata"] = {"annotations": {"container.apparmor.security.beta.kubernetes.io/buildkitd": "unconfined"}}
    return yaml.dump(pod, Dumper=_NoAliases, sort_keys=False, default_flow_style=False, width=4096).rstrip("\n")


class _NoAliases(yaml.SafeDumper):
    """Shared mounts written out at each use: a reader of the pod YAML should not need anchors."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def render_managed_jcasc(cfg: LabConfig) -> dict[str, str]:
    """jenkins-kit's own fragments (with the user's extra pod templates in its cloud)."""
    env = template_env("jcasc")
    apparmor_field = int(cfg.cluster.kubernetes_version.split(".")[1]) >= 30
    overridden = {str(e.template.get("name")) for e in cfg.agents.pod_templates if e.override}
    shell = cfg.agents.shell_template and cfg.agents.shell_label not in overridden
    ctx = {
        "cfg": cfg,
        "registry": cfg.registry.credentials,
        "public_url": public_url(cfg),
        "in_cluster_url": in_cluster_url(cfg),
        "tunnel": tunnel(cfg),
        "extra_templates": _extra_templates(cfg),
        # Pod field appArmorProfile: Kubernetes >= 1.30 (KEP-24); older API servers drop it, so the annotation.
        "apparmor_field": apparmor_field,
        "replace_own_template": cfg.agents.label in overridden,
        "shell": shell,
        "shell_yaml": shell_pod_yaml(cfg, apparmor_field) if shell else "",
        "shell_env": [("PATH", SHELL_PATH), ("BUILDKIT_HOST", SHELL_BUILDKIT_SOCKET), ("KIT_REGISTRY", cfg.registry.address),
                      ("KIT_DEPLOY_NAMESPACE", cfg.agents.deploy_namespace),
                      ("KIT_OUTPUT_OPTS", cfg.registry.output_opts)]
                     + ([("DOCKER_CONFIG", SHELL_DOCKER_CONFIG)] if cfg.registry.credentials else []),
    }
    out: dict[str, str] = {}
    for key, tpl in FRAGMENTS.items():
        if key == "jenkins-kit-credentials" and not cfg.registry.credentials and not cfg.jenkins.credentials:
            continue
        out[key] = env.get_template(tpl).render(**ctx)
    return out


def secret_mounts(cfg: LabConfig) -> list[dict[str, str]]:
    """`controller.additionalExistingSecrets` entries so `${<name>-<key>}` resolves in JCasC."""
    mounts: list[dict[str, str]] = []
    if cfg.registry.credentials:
        name = cfg.registry.credentials.secret_name
        mounts += [{"name": name, "keyName": "username"}, {"name": name, "keyName": "password"}]
    for c in cfg.jenkins.credentials:
        for ref in (c.secret, c.passphrase):
            if ref is not None:
                m = {"name": ref.name, "keyName": ref.key}
                if m not in mounts:
                    mounts.append(m)
    return mounts
