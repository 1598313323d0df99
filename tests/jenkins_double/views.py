"""Views of the Jenkins double: the root's and each folder's ViewGroup.

Follows core ``hudson.model.View`` (create, createViewFromXML, updateByXml, doConfigDotXml,
doDoDelete, getUrl), ``ViewGroupMixIn`` (getView: exact, case-sensitive name; deleteView:
"Cannot delete last view"), ``ListView`` (jobNames with a case-insensitive comparator,
includeRegex, doAddJobToView/doRemoveJobFromView) and ``AllView``.  The root's primary view
is ``all`` (``Jenkins``: ``new AllView(AllView.DEFAULT_VIEW_NAME)``); a folder's is ``All``
(cloudbees-folder ``AbstractFolder.initViews``: ``new AllView("All", this)``).

``config.xml`` is written the way ``View.writeXml`` -> ``XStream2.toXMLUTF8`` writes it:
``<?xml version="1.1" encoding="UTF-8"?>`` and a newline, then XStream's two-space pretty
print.  Deviation: the element order is the one submitted (XStream would use field order), and
unknown elements are kept.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from . import xmlconf
from .tree import Bean

if TYPE_CHECKING:  # pragma: no cover
    from .state import Engine, Item

LIST_VIEW = "hudson.model.ListView"
ALL_VIEW = "hudson.model.AllView"
MY_VIEW = "hudson.model.MyView"
# ViewDescriptors the double has (View.all().findByName(mode) matches the descriptor id, the class)
VIEW_CLASSES = (LIST_VIEW, ALL_VIEW, MY_VIEW)
_DEFAULT_COLUMNS = ("hudson.views.StatusColumn", "hudson.views.WeatherColumn", "hudson.views.JobColumn",
                    "hudson.views.LastSuccessColumn", "hudson.views.LastFailureColumn",
                    "hudson.views.LastDurationColumn", "hudson.views.BuildButtonColumn")


class ViewError(Exception):
    """The view XML cannot be read (View.createViewFromXML: IOException "Unable to read")."""


def _el(tag: str, text: str | None = None, **attrs) -> ET.Element:
    e = ET.Element(tag, attrs)
    if text is not None:
        e.text = text
    return e


def default_xml(cls: str, name: str) -> ET.Element:
    """What XStream writes for a view made by ``descriptor.newInstance`` from an empty form."""
    root = _el(cls)
    root.append(_el("name", name))
    root.append(_el("filterExecutors", "false"))
    root.append(_el("filterQueue", "false"))
    root.append(_el("properties", **{"class": "hudson.model.View$PropertyList"}))
    if cls == LIST_VIEW:
        jn = _el("jobNames")
        jn.append(_el("comparator", **{"class": "java.lang.String$CaseInsensitiveComparator"}))
        root.append(jn)
        root.append(_el("jobFilters"))
        cols = _el("columns")
        for c in _DEFAULT_COLUMNS:
            cols.append(_el(c))
        root.append(cols)
        root.append(_el("recurse", "false"))
    return root


class View:
    def __init__(self, owner: Item | None, root: ET.Element):
        if root.tag not in VIEW_CLASSES:
            raise ViewError(f"Unable to read: no view class {root.tag}")
        self.owner = owner
        self.cls = root.tag
        self.root = root
        self.name = (root.findtext("name") or "").strip()
        self._bean: Bean | None = None

    # -- ListView state, read from the XML each time it is needed ---------------------------
    def job_names(self) -> list[str]:
        jn = self.root.find("jobNames")
        return [] if jn is None else [s.text or "" for s in jn.findall("string")]

    def set_job_names(self, names: list[str]) -> None:
        jn = self.root.find("jobNames")
        if jn is None:
            jn = _el("jobNames")
            jn.append(_el("comparator", **{"class": "java.lang.String$CaseInsensitiveComparator"}))
            self.root.insert(len(self.root), jn)
        for s in jn.findall("string"):
            jn.remove(s)
        for n in sorted(set(names), key=str.lower):
            jn.append(_el("string", n))

    def items(self, eng: Engine) -> list[Item]:
        group = eng.group_of(self.owner)
        every = group.sorted()
        if self.cls in (ALL_VIEW, MY_VIEW):
            return every
        names = {n.lower() for n in self.job_names()}
        regex = self.root.findtext("includeRegex")
        pat = re.compile(regex) if regex else None
        return [i for i in every if i.name.lower() in names or (pat is not None and pat.fullmatch(i.name))]

    # -- URLs and export ----------------------------------------------------------------------
    def url_path(self, store: ViewStore) -> str:
        """View.getUrl: the owner's URL for the primary view, else owner URL + view/<name>/."""
        base = "" if self.owner is None else self.owner.url_path
        if store.primary(self.owner) is self:
            return base
        return f"{base}view/{xmlconf_raw(self.name)}/"

    def config_xml(self) -> bytes:
        name = self.root.find("name")
        if name is None:
            name = _el("name")
            self.root.insert(0, name)
        name.text = self.name
        out = ['<?xml version="1.1" encoding="UTF-8"?>']
        xmlconf._write(self.root, None, 0, out)
        return "\n".join(out).encode("utf-8")


def xmlconf_raw(name: str) -> str:
    from .state import raw_encode
    return raw_encode(name)


class ViewStore:
    """Views per ViewGroup (``None`` = the root), in creation order."""

    def __init__(self, eng: Engine):
        self.eng = eng
        self._views: dict[int, list[View]] = {}

    def views(self, owner: Item | None) -> list[View]:
        key = 0 if owner is None else id(owner)
        vs = self._views.get(key)
        if vs is None:
            name = "all" if owner is None else "All"
            vs = self._views[key] = [View(owner, default_xml(ALL_VIEW, name))]
        return vs

    def primary(self, owner: Item | None) -> View:
        return self.views(owner)[0]

    def get(self, owner: Item | None, name: str) -> View | None:
        return next((v for v in self.views(owner) if v.name == name), None)

    def add(self, view: View) -> None:
        self.views(view.owner).append(view)

    def delete(self, view: View) -> bool:
        vs = self.views(view.owner)
        if len(vs) <= 1:
            return False  # IllegalStateException("Cannot delete last view")
        vs.remove(view)
        return True

    def forget(self, owner: Item) -> None:
        self._views.pop(id(owner), None)

    def on_renamed(self, item: Item, old: str) -> None:
        """ListView's ItemListener: a renamed job keeps its place in the views that list it."""
        for v in self.views(item.parent):
            names = v.job_names()
            if any(n.lower() == old.lower() for n in names):
                v.set_job_names([item.name if n.lower() == old.lower() else n for n in names])

    def on_moved(self, item: Item) -> None:
        """ListView's listener drops an item that left the view's group."""
        for v in self.views(item.parent):
            names = v.job_names()
            if any(n.lower() == item.name.lower() for n in names):
                v.set_job_names([n for n in names if n.lower() != item.name.lower()])

    def on_deleted(self, item: Item) -> None:
        self.on_moved(item)
        self.forget(item)


def view_bean(store: ViewStore, v: View, job_bean) -> Bean:
    """View's exported properties: description (1), jobs (1), name (2), property (inline), url
    (2; ``getAbsoluteUrl``) [core hudson/model/View.java @Exported]."""
    eng = store.eng
    return Bean(v.cls, (
        ("description", 1, lambda: v.root.findtext("description"), False),
        ("jobs", 1, lambda: [job_bean(i) for i in v.items(eng)], False),
        ("name", 2, lambda: v.name, False),
        ("property", 1, [], True),
        ("url", 2, lambda: eng.root_url + v.url_path(store), False),
    ))


def parse_view_xml(owner: Item | None, body: bytes, name: str) -> View:
    """View.createViewFromXML: the URL's name wins over the document's."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise ViewError(f"Unable to read: {e}") from e
    v = View(owner, root)
    v.name = name
    return v
