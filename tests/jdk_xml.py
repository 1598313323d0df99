"""The JDK's XML parser as a referee for config.xml: one JVM for a whole test session.

Python's expat is an XML 1.0 parser; Jenkins reads config.xml (declared version='1.1') with the JDK's
Xerces, which refuses raw DEL/C1 controls in XML 1.1 and turns raw NEL/U+2028 into "\\n". So hostile
output is judged by the JDK, and compared with what Python reads from the same bytes.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

SOURCE = Path(__file__).parent / "jdk" / "XmlLeaves.java"


class JdkXml:
    def __init__(self, workdir: Path) -> None:
        javac, java = shutil.which("javac"), shutil.which("java")
        if not javac or not java:
            raise FileNotFoundError("javac/java not on PATH")
        subprocess.run([javac, "-d", str(workdir), str(SOURCE)], check=True, capture_output=True, timeout=120)
        self._proc = subprocess.Popen([java, "-Xshare:auto", "-cp", str(workdir), "XmlLeaves"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self._lock = threading.Lock()

    def leaves(self, path: Path) -> str:
        """The leaf texts and attributes as the JDK reads them; raises ValueError when it refuses the file."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock:
            self._proc.stdin.write(f"{path}\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline().rstrip("\n")
        status, _, rest = line.partition("\t")
        _, _, payload = rest.partition("\t")
        if status != "OK":
            raise ValueError(f"the JDK parser refuses {path}: {payload or line!r}")
        return base64.b64decode(payload).decode("utf-8")

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def python_leaves(path: Path) -> str:
    """The same walk over Python's reading of the file (what jenkins-kit's own xmlnorm sees)."""
    out: list[str] = []

    def walk(el: ET.Element, parent: str) -> None:
        p = f"{parent}/{el.tag}"
        for k, v in sorted(el.attrib.items()):
            if k != "plugin":
                out.append(f"{p}@{k}={v}\0")
        children = list(el)
        for c in children:
            walk(c, p)
        if not children:
            out.append(f"{p}={el.text or ''}\0")

    walk(ET.parse(path).getroot(), "")
    return "".join(out)
