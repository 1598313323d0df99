"""config.xml handling for the Jenkins test double.

* :func:`parse_config` reads a submitted ``config.xml`` the way Jenkins' XStream load would
  need it: the root element picks the item type (unknown root -> error, i.e. a 500), unknown
  child elements are tolerated (spec §3.1, §7), and the fields the double models are pulled out
  (description, disabled, quiet period, auth token, inline Jenkinsfile, parameter definitions,
  job properties).
* :func:`serialize` writes the Jenkins-style form used after anything that calls ``save()``
  (spec §3.2): ``<?xml version='1.1' encoding='UTF-8'?>``, XStream's two-space pretty print,
  ``<x/>`` for empty elements, text escaping of ``& < > " '`` (XStream PrettyPrintWriter), and
  ``plugin="shortName@version"`` attributes on elements whose class belongs to a plugin, left
  out where the parent element already names the same plugin (spec §7 "General rules").
  Unknown elements are dropped on save, as XStream only writes fields the class has
  (spec §7: unknown elements are "recorded as old data", not written back).
* :func:`check_good_name` implements ``Jenkins.checkGoodName`` (spec §3.1 step 4).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# Plugin versions the double claims to have installed (also served by /pluginManager/api/json).
PLUGINS: dict[str, tuple[str, str]] = {
    # shortName: (version, longName)
    "workflow-job": ("1400.v7fd111b_ec82f", "Pipeline: Job"),
    "workflow-cps": ("3894.vd0f0248b_a_fc4", "Pipeline: Groovy"),
    "workflow-api": ("1336.vee415d95c521", "Pipeline: API"),
    "workflow-step-api": ("678.v3ee58b_469476", "Pipeline: Step API"),
    "workflow-support": ("926.v9f4f9b_b_98c19", "Pipeline: Supporting APIs"),
    "workflow-multibranch": ("795.ve0cb_1f45ca_9a_", "Pipeline: Multibranch"),
    "cloudbees-folder": ("6.951.v5f91d88d76b_b_", "Folders Plugin"),
    "configuration-as-code": ("1915.vcdd0a_d0d2625", "Configuration as Code Plugin"),
    "script-security": ("1369.v9b_98a_4e95b_2d", "Script Security Plugin"),
    "git": ("5.7.0", "Git plugin"),
    "branch-api": ("2.1200.v4b_a_3da_2eb_db_4", "Branch API Plugin"),
    "scm-api": ("698.v8e3b_c788f0a_6", "SCM API Plugin"),
    "credentials": ("1389.vd7a_b_f5fa_50a_2", "Credentials Plugin"),
}

# Which plugin owns a Java class, by package prefix (longest prefix first).
_OWNERS = sorted([
    ("org.jenkinsci.plugins.workflow.job.", "workflow-job"),
    ("org.jenkinsci.plugins.workflow.cps.", "workflow-cps"),
    ("org.jenkinsci.plugins.workflow.multibranch.", "workflow-multibranch"),
    ("com.cloudbees.hudson.plugins.folder.", "cloudbees-folder"),
    ("jenkins.plugins.git.", "git"),
    ("hudson.plugins.git.", "git"),
    ("jenkins.branch.", "branch-api"),
    ("jenkins.scm.api.", "scm-api"),
    ("com.cloudbees.plugins.credentials.", "credentials"),
    ("flow-definition", "workflow-job"),
], key=lambda p: -len(p[0]))

WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
FREESTYLE = "hudson.model.FreeStyleProject"

# XML root element -> (kind, java class).  "flow-definition" and "project" are XStream aliases
# [wf-job WorkflowJob.java alias(); core Items.java XSTREAM alias "project"].
ROOTS = {
    "flow-definition": ("workflow", WORKFLOW_JOB),
    WORKFLOW_JOB: ("workflow", WORKFLOW_JOB),
    FOLDER: ("folder", FOLDER),
    MULTIBRANCH: ("multibranch", MULTIBRANCH),
    "project": ("freestyle", FREESTYLE),
    FREESTYLE: ("freestyle", FREESTYLE),
}
ROOT_TAG = {"workflow": "flow-definition", "folder": FOLDER, "multibranch": MULTIBRANCH,
            "freestyle": "project"}
CLASS_TO_KIND = {cls: kind for kind, cls in ROOTS.values()}


class ConfigError(Exception):
    """The config cannot be loaded (Jenkins answers 500 with the Oops page)."""


@dataclass
class ParamDef:
    cls: str                 # e.g. hudson.model.StringParameterDefinition
    name: str
    description: str | None
    default: object          # str or bool
    choices: list[str] | None = None
    trim: bool | None = None

    @property
    def type(self) -> str:
        return self.cls.rsplit(".", 1)[-1]

    @property
    def value_class(self) -> str:
        return {
            "BooleanParameterDefinition": "hudson.model.BooleanParameterValue",
            "TextParameterDefinition": "hudson.model.TextParameterValue",
            "PasswordParameterDefinition": "hudson.model.PasswordParameterValue",
        }.get(self.type, "hudson.model.StringParameterValue")

    def create_value(self, raw: str):
        """``createValue(String)``; raises ValueError for an illegal choice (-> 500)."""
        if self.type == "BooleanParameterDefinition":
            return raw.lower() == "true"  # Boolean.parseBoolean: "true" (any case) -> True
        if self.type == "ChoiceParameterDefinition" and self.choices is not None and raw not in self.choices:
            raise ValueError(f"Illegal choice for parameter {self.name}: {raw}")
        if self.trim and isinstance(raw, str):
            raw = raw.strip()
        return raw


@dataclass
class ParsedConfig:
    kind: str
    java_class: str
    root: ET.Element
    description: str | None = None
    disabled: bool = False
    quiet_period: int | None = None
    auth_token: str | None = None
    script: str | None = None
    params: list[ParamDef] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)  # classes of job properties
    concurrent: bool = True


def _text(el: ET.Element | None) -> str | None:
    if el is None:
        return None
    return el.text or ""


def _parse_params(pdp: ET.Element) -> list[ParamDef]:
    out: list[ParamDef] = []
    defs = pdp.find("parameterDefinitions")
    if defs is None:
        return out
    for d in defs:
        name = _text(d.find("name")) or ""
        desc = _text(d.find("description"))
        cls = d.tag
        short = cls.rsplit(".", 1)[-1]
        choices = None
        trim = None
        if short == "BooleanParameterDefinition":
            default: object = (_text(d.find("defaultValue")) or "false").strip() == "true"
        elif short == "ChoiceParameterDefinition":
            ch = d.find("choices")
            choices = []
            if ch is not None:
                strings = ch.findall(".//string")
                if strings:
                    choices = [s.text or "" for s in strings]
                elif ch.text and ch.text.strip():
                    # setChoices(Object) accepts a newline-delimited string (spec §7.3)
                    choices = [c for c in ch.text.split("\n")]
            default = choices[0] if choices else ""
        else:
            default = _text(d.find("defaultValue")) or ""
            if short == "StringParameterDefinition":
                trim = (_text(d.find("trim")) or "false").strip() == "true"
        out.append(ParamDef(cls, name, desc, default, choices, trim))
    return out


_STAGE_RE = re.compile(r"""\bstage\s*\(\s*(?:name\s*:\s*)?(['"])((?:\\.|(?!\1).)*)\1""")


def stages_of(script: str | None) -> list[str]:
    if not script:
        return []
    return [m.group(2) for m in _STAGE_RE.finditer(script)]


def parse_config(xml_text: str | bytes) -> ParsedConfig:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        raise ConfigError(f"Failed to persist config.xml: {e}") from e
    if root.tag not in ROOTS:
        raise ConfigError(f"Unable to read config: unknown root element {root.tag}")
    kind, cls = ROOTS[root.tag]
    cfg = ParsedConfig(kind=kind, java_class=cls, root=root)
    cfg.description = _text(root.find("description"))
    cfg.disabled = (_text(root.find("disabled")) or "false").strip() == "true"
    qp = _text(root.find("quietPeriod"))
    if qp is not None and qp.strip():
        try:
            cfg.quiet_period = int(qp.strip())
        except ValueError as e:
            raise ConfigError(str(e)) from e
    tok = _text(root.find("authToken"))
    cfg.auth_token = tok if tok else None
    definition = root.find("definition")
    if definition is not None:
        cfg.script = _text(definition.find("script"))
    props = root.find("properties")
    if props is not None:
        for p in props:
            cfg.properties.append(p.tag)
            if p.tag == "hudson.model.ParametersDefinitionProperty":
                cfg.params = _parse_params(p)
            elif p.tag.endswith("DisableConcurrentBuildsJobProperty"):
                abort_prev = (_text(p.find("abortPrevious")) or "false").strip() == "true"
                cfg.concurrent = abort_prev
    return cfg


def default_config(kind: str) -> str:
    """The document ``createProject(descriptor, name)`` would save for a new empty item."""
    root = ET.Element(ROOT_TAG[kind])
    return serialize(root, kind, description=None, disabled=False)


# ---------------------------------------------------------------------------------------------
# Jenkins-style serialization
# ---------------------------------------------------------------------------------------------

def _owner(name: str | None) -> str | None:
    if not name:
        return None
    for prefix, plugin in _OWNERS:
        if name == prefix or name.startswith(prefix):
            return plugin
    return None


def _escape_text(s: str) -> str:
    # XStream PrettyPrintWriter (XML 1.1 quirks mode) escapes these in text
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
             .replace('"', "&quot;").replace("'", "&apos;").replace("\r", "&#xd;"))


def _escape_attr(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _write(el: ET.Element, parent_owner: str | None, indent: int, out: list[str]) -> None:
    attrs = {k: v for k, v in el.attrib.items() if k != "plugin"}
    owner = _owner(attrs.get("class")) or _owner(el.tag)
    if owner is None and "plugin" in el.attrib:
        owner = el.attrib["plugin"].split("@", 1)[0]
    attr_s = "".join(f' {k}="{_escape_attr(v)}"' for k, v in attrs.items())
    if owner and owner != parent_owner and owner in PLUGINS:
        attr_s += f' plugin="{owner}@{PLUGINS[owner][0]}"'
    pad = "  " * indent
    children = list(el)
    text = el.text if el.text and (not children or el.text.strip()) else None
    if not children:
        if text:
            out.append(f"{pad}<{el.tag}{attr_s}>{_escape_text(text)}</{el.tag}>")
        else:
            out.append(f"{pad}<{el.tag}{attr_s}/>")
        return
    out.append(f"{pad}<{el.tag}{attr_s}>")
    for c in children:
        _write(c, owner or parent_owner, indent + 1, out)
    out.append(f"{pad}</{el.tag}>")


def _el(tag: str, text: str | None = None, **attrs) -> ET.Element:
    e = ET.Element(tag, attrs)
    if text is not None:
        e.text = text
    return e


def serialize(root: ET.Element, kind: str, *, description: str | None, disabled: bool) -> str:
    """Re-serialize ``root`` the way ``save()`` writes it (see module docstring)."""
    old = {c.tag: c for c in root}
    new = ET.Element(ROOT_TAG[kind])
    new.append(_el("actions"))
    new.append(_el("description", description or ""))
    if kind in ("workflow", "freestyle"):
        new.append(_el("keepDependencies", (_text(old.get("keepDependencies")) or "false").strip()))
        new.append(old.get("properties", _el("properties")))
        if kind == "workflow":
            if "definition" in old:
                new.append(old["definition"])
            new.append(old.get("triggers", _el("triggers")))
            if "quietPeriod" in old:
                new.append(old["quietPeriod"])
            if "authToken" in old:
                new.append(old["authToken"])
            new.append(_el("disabled", "true" if disabled else "false"))
        else:
            # XStream writes AbstractProject's fields in declaration order, primitives always
            # [core hudson/model/AbstractProject.java: scm, quietPeriod, scmCheckoutRetryCount, assignedNode,
            # canRoam, disabled, blockBuildWhenDownstreamBuilding, blockBuildWhenUpstreamBuilding, jdk,
            # authToken, triggers, concurrentBuild, customWorkspace; Project.java: builders, publishers,
            # buildWrappers]. canRoam is true exactly when no label is assigned (AbstractProject#setAssignedLabel).
            for tag in ("scm", "quietPeriod", "scmCheckoutRetryCount", "assignedNode"):
                if tag in old:
                    new.append(old[tag])
            new.append(_el("canRoam", "false" if (_text(old.get("assignedNode")) or "").strip() else "true"))
            new.append(_el("disabled", "true" if disabled else "false"))
            for tag in ("blockBuildWhenDownstreamBuilding", "blockBuildWhenUpstreamBuilding"):
                new.append(_el(tag, (_text(old.get(tag)) or "false").strip()))
            for tag in ("jdk", "authToken"):
                if tag in old:
                    new.append(old[tag])
            new.append(old.get("triggers", _el("triggers")))
            new.append(_el("concurrentBuild", (_text(old.get("concurrentBuild")) or "false").strip()))
            if "customWorkspace" in old:
                new.append(old["customWorkspace"])
            for tag in ("builders", "publishers", "buildWrappers"):
                new.append(old.get(tag, _el(tag)))
    else:
        # AbstractFolder fills in defaults for properties/folderViews/healthMetrics/icon on load
        # [folder AbstractFolder.java ~242-306, spec §7.4]
        new.append(old.get("properties", _el("properties")))
        if kind == "folder":
            fv = old.get("folderViews")
            if fv is None or not fv.get("class"):
                fv = _el("folderViews", **{"class": "com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder"})
                views = _el("views")
                av = _el("hudson.model.AllView")
                av.append(_el("owner", **{"class": FOLDER, "reference": "../../.."}))
                av.append(_el("name", "All"))
                av.append(_el("filterExecutors", "false"))
                av.append(_el("filterQueue", "false"))
                av.append(_el("properties", **{"class": "hudson.model.View$PropertyList"}))
                views.append(av)
                fv.append(views)
                fv.append(_el("tabBar", **{"class": "hudson.views.DefaultViewsTabBar"}))
            new.append(fv)
            new.append(old.get("healthMetrics", _el("healthMetrics")))
            new.append(old.get("icon", _el("icon", **{"class": "com.cloudbees.hudson.plugins.folder.icons.StockFolderIcon"})))
        else:
            for tag in ("folderViews", "healthMetrics", "icon", "orphanedItemStrategy", "triggers"):
                if tag in old:
                    new.append(old[tag])
            new.append(_el("disabled", "true" if disabled else "false"))
            for tag in ("sources", "factory"):
                if tag in old:
                    new.append(old[tag])
    out: list[str] = ["<?xml version='1.1' encoding='UTF-8'?>"]
    _write(new, None, 0, out)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

_UNSAFE = set("?*/\\%!@#$^&|<>[]:;")


class BadName(Exception):
    """A ``hudson.model.Failure`` from checkGoodName (400 + X-Error)."""


def _printable(name: str) -> str:
    return "".join(f"\\u{ord(c)};" if _is_iso_control(c) else c for c in name)


def _is_iso_control(c: str) -> bool:
    o = ord(c)
    return o <= 0x1F or 0x7F <= o <= 0x9F


def check_good_name(name: str) -> None:
    """Jenkins.checkGoodName (spec §3.1 step 4); raises :class:`BadName`."""
    if name is None or name == "":
        raise BadName("No name is specified")
    if name.strip() in (".", ".."):
        # Jenkins_NotAllowedName(".") / ("..") [core Jenkins.java checkGoodName, read via search]
        raise BadName(f"\u201c{name.strip()}\u201d is not an allowed name")
    for c in name:
        if _is_iso_control(c):
            raise BadName(f"No control code is allowed: {_printable(name)}")
        if c in _UNSAFE:
            raise BadName(f"\u2018{c}\u2019 is an unsafe character")
    if name.strip().endswith("."):
        raise BadName("A name cannot end with \u2018.\u2019")


# ---------------------------------------------------------------------------------------------
# XMLUtils.safeTransform: what createItem / config.xml POST store
# ---------------------------------------------------------------------------------------------

def _char_ref(m: re.Match) -> str:
    return f"&#{ord(m.group(0))};"


# Serializer rules of the JDK's identity Transformer (xalan ToStream), established by running
# XMLUtils.safeTransform's exact code on Java 17 (tests/test_double_identity.py keeps checking
# them against the JDK): text escapes & < > and writes CR, C1 controls (U+007F-U+009F), other
# XML 1.1 controls and characters beyond the BMP as decimal character references; attributes
# escape & < > " and write LF, TAB, CR and characters beyond the BMP as references.
_TEXT_REF = re.compile("[\r\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\U00010000-\U0010ffff]")
_ATTR_REF = re.compile("[\n\t\r\U00010000-\U0010ffff]")


def _t_text(s: str) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _TEXT_REF.sub(_char_ref, s)


def _t_attr(s: str) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _ATTR_REF.sub(_char_ref, s)


def identity_transform(data: bytes) -> bytes:
    """``XMLUtils.safeTransform(new StreamSource(xml), new StreamResult(file))``: the bytes Jenkins
    stores as config.xml on createItem with an XML body (ItemGroupMixIn.createProjectFromXML) and
    on POST config.xml (AbstractItem.updateByXml) [core jenkins/util/xml/XMLUtils.java, 2.492.3].

    The declaration becomes ``<?xml version="V" encoding="UTF-8"?>`` (V as submitted, else 1.0;
    ``standalone`` dropped) with nothing after it; the DOCTYPE is dropped and entities expanded;
    comments and processing instructions are kept, also before and after the root, without
    whitespace between them (whitespace outside the root is not reported by SAX); whitespace
    inside the root, attribute order and CDATA sections are kept (an empty CDATA section is
    dropped); ``<x></x>`` becomes ``<x/>``; attributes are double-quoted.  Raises ConfigError
    when the document is not well-formed (Jenkins: "Failed to persist config.xml", 500)."""
    import xml.parsers.expat

    out: list[str] = []
    version = ["1.0"]
    pending = [False]  # a start tag whose '>' is not written yet
    in_cdata = [False]
    cdata: list[str] = []

    def close_pending():
        if pending[0]:
            out.append(">")
            pending[0] = False

    def xml_decl(ver, _enc, _standalone):
        if ver:
            version[0] = ver

    def start(name, attrs):
        close_pending()
        parts = [f"<{name}"]
        for i in range(0, len(attrs), 2):
            parts.append(f' {attrs[i]}="{_t_attr(attrs[i + 1])}"')
        out.append("".join(parts))
        pending[0] = True

    def end(name):
        if pending[0]:
            out.append("/>")
            pending[0] = False
        else:
            out.append(f"</{name}>")

    def chars(text):
        if in_cdata[0]:
            cdata.append(text)
            return
        close_pending()
        out.append(_t_text(text))

    def start_cdata():
        in_cdata[0] = True
        cdata.clear()

    def end_cdata():
        in_cdata[0] = False
        text = "".join(cdata)
        if text:
            close_pending()
            out.append(f"<![CDATA[{text}]]>")

    def comment(text):
        close_pending()
        out.append(f"<!--{text}-->")

    def pi(target, data_):
        close_pending()
        out.append(f"<?{target} {data_}?>" if data_ else f"<?{target}?>")

    p = xml.parsers.expat.ParserCreate()
    p.ordered_attributes = True
    p.specified_attributes = True
    p.buffer_text = True
    p.XmlDeclHandler = xml_decl
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.StartCdataSectionHandler = start_cdata
    p.EndCdataSectionHandler = end_cdata
    p.CommentHandler = comment
    p.ProcessingInstructionHandler = pi
    try:
        p.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise ConfigError(f"Failed to persist config.xml: {e}") from e
    body = "".join(out)
    return (f'<?xml version="{version[0]}" encoding="UTF-8"?>' + body).encode("utf-8")
