"""Names and labels shared by every renderer, so the cluster side can find what we created."""

from __future__ import annotations

from jenkins_kit.config.schema import LabConfig

MANAGED_BY = {"app.kubernetes.io/managed-by": "jenkins-kit"}
FIELD_MANAGER = "jenkins-kit"
# Keys of the registry Secret that `up` writes: JCasC reads username/password through
# the chart's additionalExistingSecrets (`${<secret>-username}`), BuildKit reads config.json.
REGISTRY_SECRET_KEYS = ("username", "password", "config.json")


def labels(cfg: LabConfig, component: str) -> dict[str, str]:
    return {
        **MANAGED_BY,
        "app.kubernetes.io/part-of": "jenkins-kit",
        "app.kubernetes.io/instance": cfg.jenkins.release,
        "app.kubernetes.io/component": component,
    }


def controller_service_account(cfg: LabConfig) -> str:
    """The chart names the controller ServiceAccount after the release fullname."""
    return cfg.jenkins.release if "jenkins" in cfg.jenkins.release else f"{cfg.jenkins.release}-jenkins"


def controller_service(cfg: LabConfig) -> str:
    return controller_service_account(cfg)


def in_cluster_url(cfg: LabConfig) -> str:
    svc = controller_service(cfg)
    return f"http://{svc}.{cfg.cluster.namespace}.svc.cluster.local:{cfg.jenkins.service.port}/"


def tunnel(cfg: LabConfig) -> str:
    return f"{controller_service(cfg)}-agent.{cfg.cluster.namespace}.svc.cluster.local:50000"


def public_url(cfg: LabConfig) -> str:
    """The URL users reach Jenkins at: configured, else the fixed LoadBalancer IP, else in-cluster."""
    if cfg.jenkins.url:
        return cfg.jenkins.url
    svc = cfg.jenkins.service
    if svc.type == "LoadBalancer" and svc.load_balancer_ip:
        port = "" if svc.port == 80 else f":{svc.port}"
        return f"http://{svc.load_balancer_ip}{port}/"
    return in_cluster_url(cfg)
