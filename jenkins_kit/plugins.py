"""The plugin pin table: which versions of the plugins jenkins-kit relies on exist, which Jenkins core each
needs, and the dependency floors each imposes on the others.

Why a table: the plugin installer refuses a set in which a top-level pin is older than what another plugin
requires ("... depends on X:v, but there is an older version defined on the top level",
plugin-installation-manager-tool `PluginManager#resolveRecursiveDependencies`), and core refuses to load a
plugin whose optional dependency is installed too old (core `hudson/PluginWrapper#resolvePluginDependencies`,
`isDependencyObsolete`). Both surface only when the controller starts, minutes into `up`. The table lets
`config validate` and `plan` refuse such a set at once, with the fix.

Source of every entry: ../shared/reference/jcasc-and-pipeline.md §1 (min core = `jenkins.version` of the
plugin's pom.xml at that commit; floors = dependency versions in that pom, BOM-managed ones resolved in
jenkinsci/bom at the BOM version the pom imports). `note` says where an entry is approximate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Versions the chart 5.9.53 installs by default (charts/jenkins/values.yaml controller.installPlugins).
CHART_PINS = (
    "kubernetes:4540.v612369217f87",
    "workflow-aggregator:608.v67378e9d3db_1",
    "git:5.10.1",
    "configuration-as-code:2115.vf6de120eef70",
)


# What the rendered files cannot work without; `jenkins.plugins` replaces the chart's installPlugins, so each must
# be pinned (everything else they use arrives as their dependencies: credentials, plain-credentials, folders...).
REQUIRED = {
    "configuration-as-code": "reads every JCasC fragment jenkins-kit renders",
    "kubernetes": "the Kubernetes cloud and pod template in jenkins-kit-cloud (jenkins.clouds[].kubernetes)",
    "workflow-aggregator": "the Pipeline and multibranch jobs and their declarative Jenkinsfiles",
    "git": "the git step and the Git SCM of the generated jobs",
}


@dataclass(frozen=True)
class Release:
    """One known release. `min_core` None: a real release (named as a floor by another pom) whose own pom
    was not examined. `requires`: dependency -> lowest acceptable version (optional ones included)."""

    min_core: str | None
    requires: dict[str, str] = field(default_factory=dict)
    note: str = ""


TABLE: dict[str, dict[str, Release]] = {
    "kubernetes": {
        # jenkinsci/kubernetes-plugin cfd9c5a0; floors via bom-2.479.x 4924.v6b_eb_a_79a_d9d0
        "4358.vcfd9c5a_0a_f51": Release("2.479.3", {
            "cloudbees-folder": "6.1023.v4fcb_72152519",
            "credentials-binding": "687.v619cb_15e923f",
            "configuration-as-code": "1903",  # optional
            "credentials": "1415.v831096eb_5534",
            "plain-credentials": "195.vb_906e9073dee",
        }),
        # The chart's pin. Its own commit was not in the examined history; values are from master a82d78a0
        # (4425 commits), the nearest, bom-2.504.x 5015.vb_52d36583443.
        "4540.v612369217f87": Release("2.504.3", {
            "cloudbees-folder": "6.1026.ve06dfa_cf31c3",
            "plain-credentials": "199.v9f8e1f741799",
        }, note="min core and floors from a82d78a0, the nearest examined commit (open PR #2812 would raise core to 2.516.3)"),
    },
    "workflow-aggregator": {
        "608.v67378e9d3db_1": Release("2.479.3", {  # 67378e9d
            "workflow-multibranch": "795.ve0cb_1f45ca_9a_",
            "pipeline-model-definition": "2.2218.v56d0cda_37c72",
            "workflow-basic-steps": "1058.vcb_fc1e3a_21a_9",
        }),
    },
    "git": {
        "5.10.1": Release("2.504.3", {  # git-5.10.1 3eb1e081, bom-2.504.x 5983.v443959746f1f
            "credentials-binding": "702.vfe613e537e88",
            "configuration-as-code": "2031.veb_a_fdda_b_3ffd",  # optional
        }),
        "5.7.0": Release("2.479.1", {  # git-5.7.0 184036c3
            "credentials-binding": "687.v619cb_15e923f",
            "configuration-as-code": "1903",  # optional
        }),
    },
    "configuration-as-code": {
        "2115.vf6de120eef70": Release("2.541.1"),  # f6de120e
        "1971.vf9280461ea_89": Release("2.504.1"),  # f9280461
        "2031.veb_a_fdda_b_3ffd": Release(None, note="named as a floor by git 5.10.1"),
    },
    "credentials-binding": {
        "696.v256688029804": Release("2.479.3"),  # 25668802
        "702.vfe613e537e88": Release(None, note="named as a floor by git 5.10.1"),
        "687.v619cb_15e923f": Release(None, note="named as a floor by kubernetes 4358 and git 5.7.0"),
    },
    "cloudbees-folder": {
        # 6.1008.v0e8ebb_4c5b_88 (jenkins-kit's old default) was never released: no tag or commit 0e8ebb4c5b88.
        "6.1008.v5ed27a_3a_e475": Release("2.479.1"),  # 5ed27a3a
        "6.1023.v4fcb_72152519": Release(None, note="named as a floor by kubernetes 4358"),
        "6.1026.ve06dfa_cf31c3": Release(None, note="named as a floor by kubernetes ~4540"),
    },
    "workflow-multibranch": {
        "806.vb_b_688f609ee9": Release("2.479.1"),  # bb688f60
        "795.ve0cb_1f45ca_9a_": Release(None, note="named as a floor by workflow-aggregator 608"),
    },
}

_NUM = re.compile(r"^[0-9]+$")


def version_key(v: str) -> tuple[int, ...]:
    """Order of Jenkins plugin and core versions: the dot-separated numbers before the `.v<commit>` part
    (`6.1008.v5ed27a_3a_e475` -> (6, 1008)); what follows a '-' (`2.568.2-jdk21`) is not part of it."""
    parts: list[int] = []
    for p in v.split("-", 1)[0].split("."):
        if not _NUM.match(p):
            break
        parts.append(int(p))
    return tuple(parts)


def older(a: str, b: str) -> bool:
    return version_key(a) < version_key(b)


def core_of_image_tag(tag: str) -> str | None:
    """`2.568.2-jdk21` -> 2.568.2; None for a tag that names no version (lts, latest-jdk21)."""
    m = re.match(r"^([0-9]+\.[0-9]+(\.[0-9]+)?)(-|$)", tag)
    return m.group(1) if m else None


@dataclass(frozen=True)
class PinProblem:
    """`index`: position in the pin list the problem is reported at."""

    index: int  # -1: the list as a whole
    message: str
    fix: str
    rank: int = 0  # unknown version, then core, then floors: the first one shown is the most basic


def _known(name: str) -> str:
    return ", ".join(sorted(TABLE[name], key=version_key, reverse=True))


def check_pins(pins: list[str], core: str | None, require: bool = True) -> list[PinProblem]:
    """Problems of a pin list for a controller running Jenkins `core` (None: not checked against core).
    `require`: also report the REQUIRED plugins the list lacks (after the problems of the pins themselves)."""
    problems: list[PinProblem] = []
    at: dict[str, tuple[int, str]] = {}
    for i, pin in enumerate(pins):
        name, ver = pin.split(":", 1)
        if name in at:
            problems.append(PinProblem(i, f"{name} is pinned twice (also at index {at[name][0]})", "keep one pin per plugin"))
            continue
        at[name] = (i, ver)
    for name, (i, ver) in at.items():
        releases = TABLE.get(name)
        if releases is None:
            continue  # a plugin the table does not know: the user's own business
        rel = releases.get(ver)
        if rel is None:
            suggest = dict(p.split(":", 1) for p in CHART_PINS).get(name) or max(releases, key=version_key)
            problems.append(PinProblem(i, f"{name}:{ver} is not a version jenkins-kit's pin table knows (known: {_known(name)})",
                                       f"pin a known version such as {name}:{suggest}, or add the release to jenkins_kit/plugins.py "
                                       "with its min core and floors from its pom.xml"))
            continue
        if core is not None and rel.min_core is not None and older(core, rel.min_core):
            fits = [v for v, r in releases.items() if r.min_core is not None and not older(core, r.min_core)]
            alt = f", or pin {name}:{sorted(fits, key=version_key)[-1]}" if fits else ""
            note = f" ({rel.note})" if rel.note else ""
            problems.append(PinProblem(i, f"{name}:{ver} needs Jenkins core {rel.min_core} or newer{note}, but jenkins.image_tag runs {core}",
                                       f"set jenkins.image_tag to {rel.min_core} or later (e.g. 2.568.2-jdk21){alt}", 1))
        for dep, floor in rel.requires.items():
            if dep in at and older(at[dep][1], floor) and (dep not in TABLE or at[dep][1] in TABLE[dep]):
                j, dv = at[dep]
                problems.append(PinProblem(j, f"{dep}:{dv} is older than {floor}, which {name}:{ver} requires; "
                                              "the plugin installer refuses a top-level pin below a dependency's floor",
                                           f"pin {dep} at {floor} or newer, or drop the pin ({dep} comes in with {name})", 2))
    chart = dict(p.split(":", 1) for p in CHART_PINS)
    for name, why in REQUIRED.items() if require else ():
        if name not in at:
            problems.append(PinProblem(-1, f"{name} is not pinned, but {why} needs it (jenkins.plugins replaces the chart's list)",
                                       f"add {name}:{chart[name]} (the chart 5.9.53's pin) to jenkins.plugins"))
    problems.sort(key=lambda p: (p.index if p.index >= 0 else len(pins), p.rank))
    return problems


def live_problems(installed: dict[str, str], core: str | None) -> list[str]:
    """What is wrong with a running controller's plugins (shortName -> version), as far as the table knows."""
    out: list[str] = []
    for name, ver in sorted(installed.items()):
        rel = TABLE.get(name, {}).get(ver)
        if rel is None:
            continue
        if core is not None and rel.min_core is not None and older(core, rel.min_core):
            out.append(f"{name} {ver} needs core {rel.min_core}, the controller runs {core}")
        for dep, floor in rel.requires.items():
            have = installed.get(dep)
            if have is not None and older(have, floor):
                out.append(f"{dep} {have} is older than {floor}, which {name} {ver} requires")
    return out
