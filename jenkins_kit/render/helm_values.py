"""Values for the official `jenkins` chart (jenkinsci/helm-charts, 5.9.x): modern keys only.

Chart 5.x rejects any `master.*` key (templates/deprecation.yaml), so none is ever emitted.
"""

from __future__ import annotations

from typing import Any

from jenkins_kit.config.schema import LabConfig
from jenkins_kit.escape import helm_tpl_literal
from jenkins_kit.render.jcasc import render_jcasc, secret_mounts

CONTROL_PLANE_TAINTS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def render_values(cfg: LabConfig, jcasc: dict[str, str] | None = None) -> dict[str, Any]:
    """jenkins-kit's values with the user's `jenkins.helm_values` merged over them (checked when the config loads)."""
    from jenkins_kit.additions import deep_merge

    values = managed_values(cfg, jcasc)
    if cfg.jenkins.helm_values:
        values = deep_merge(values, cfg.jenkins.helm_values)
    if any(f.override for f in cfg.jenkins.jcasc_files):
        # A user fragment takes over some of jenkins-kit's JCasC scalars: the later file wins
        # (configuration-as-code ConfigurationContext: casc.merge.strategy / yaml/OverrideMergeStrategy).
        # Added after the user's values so a javaOpts of theirs keeps it.
        values["controller"]["javaOpts"] = (str(values["controller"].get("javaOpts") or "") + " -Dcasc.merge.strategy=override").strip()
    return values


def managed_values(cfg: LabConfig, jcasc: dict[str, str] | None = None) -> dict[str, Any]:
    """The values jenkins-kit itself sets (what a user's extra values may not replace unless they say so)."""
    j = cfg.jenkins
    uid, gid = cfg.nfs.uid, cfg.nfs.gid
    controller: dict[str, Any] = {
        "image": {"tag": j.image_tag},
        "numExecutors": 0,
        "admin": {
            # createSecret must stay true with existingSecret: the chart then creates no Secret of
            # its own (templates/secret.yaml: `if and (not existingSecret) createSecret`) but still
            # projects the existing one as chart-admin-username/-password into /run/secrets/additional
            # (templates/jenkins-controller-statefulset.yaml, the jenkins-secrets volume, only
            # `if createSecret`), where the JCasC ${chart-admin-*} references are read.
            "createSecret": True,
            "existingSecret": j.admin.existing_secret,
            "userKey": j.admin.user_key,
            "passwordKey": j.admin.password_key,
        },
        "nodeSelector": {"kubernetes.io/hostname": cfg.cluster.control_plane_node},
        # Both keys: kubeadm >=1.25 taints control-plane, older clusters still carry master.
        "tolerations": [
            {"key": key, "operator": "Exists", "effect": "NoSchedule"} for key in CONTROL_PLANE_TAINTS
        ],
        "usePodSecurityContext": True,
        "podSecurityContextOverride": {"runAsUser": uid, "runAsGroup": gid, "fsGroup": gid, "runAsNonRoot": uid != 0},
        "containerSecurityContext": {
            "runAsUser": uid,
            "runAsGroup": gid,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
        },
        "serviceType": j.service.type,
        "servicePort": j.service.port,
        "targetPort": j.service.target_port,
        "jenkinsOpts": f"--sessionTimeout={j.session_timeout_minutes} --sessionEviction={j.session_eviction_seconds}",
        "javaOpts": f"-Duser.timezone={j.timezone} -Dorg.apache.commons.jelly.tags.fmt.timeZone={j.timezone}",
        "installPlugins": list(j.plugins),
        "installLatestPlugins": False,
        "installLatestSpecifiedPlugins": False,
        "JCasC": {
            "defaultConfig": False,
            "configUrls": [],
            # The chart passes each script through Helm `tpl`: keep user text literal there.
            "configScripts": {k: helm_tpl_literal(v) for k, v in (jcasc if jcasc is not None else render_jcasc(cfg)).items()},
        },
        "sidecars": {"configAutoReload": {"enabled": True}},
    }
    if j.url:
        controller["jenkinsUrl"] = j.url
    if j.service.type == "LoadBalancer" and j.service.load_balancer_ip:
        controller["serviceAnnotations"] = {"metallb.io/loadBalancerIPs": j.service.load_balancer_ip}
    if j.service.type == "NodePort" and j.service.node_port:
        controller["nodePort"] = j.service.node_port
    mounts = secret_mounts(cfg)
    if mounts:
        controller["additionalExistingSecrets"] = mounts
    return {
        "controller": controller,
        "agent": {"enabled": False},
        "persistence": {"enabled": True, "existingClaim": cfg.nfs.claim_name},
    }
