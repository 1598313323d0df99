"""exports(5) syntax: which clients and options `exportfs` accepts.

Shared by the config schema (so `config validate` refuses what `nfs export` would) and by the NFS
host side (jenkins_kit/nfs.py), which checks the whole line again before writing it.
"""

from __future__ import annotations

import ipaddress
import re

# Options exportfs knows (nfs-utils exports(5)); value-taking ones map to a validator.
_FLAG_OPTIONS = {
    "rw", "ro", "sync", "async", "secure", "insecure", "wdelay", "no_wdelay", "hide", "nohide",
    "crossmnt", "subtree_check", "no_subtree_check", "insecure_locks", "no_auth_nlm", "secure_locks",
    "auth_nlm", "mountpoint", "mp", "nordirplus", "pnfs", "no_pnfs", "security_label", "root_squash",
    "no_root_squash", "all_squash", "no_all_squash", "no_acl", "acl",
}
_CONFLICTS = [("rw", "ro"), ("sync", "async"), ("secure", "insecure"), ("wdelay", "no_wdelay"),
              ("hide", "nohide"), ("subtree_check", "no_subtree_check"), ("root_squash", "no_root_squash"),
              ("all_squash", "no_all_squash"), ("pnfs", "no_pnfs"), ("secure_locks", "insecure_locks")]
_SEC_FLAVOURS = {"sys", "krb5", "krb5i", "krb5p"}


def _valid_value(name: str, value: str) -> bool:
    if name in ("anonuid", "anongid"):
        return re.fullmatch(r"-?[0-9]+", value) is not None
    if name == "fsid":
        return value == "root" or re.fullmatch(r"[0-9]+", value) is not None or re.fullmatch(r"[0-9a-fA-F\-]{32,36}", value) is not None
    if name == "sec":
        return all(p in _SEC_FLAVOURS for p in value.split(":"))
    if name in ("mountpoint", "mp"):
        return value.startswith("/")
    if name in ("refer", "replicas"):
        return bool(value) and not any(c.isspace() for c in value)
    if name == "xprtsec":
        return all(p in {"none", "tls", "mtls"} for p in value.split(":"))
    return False


def option_problem(opts: list[str]) -> str | None:
    """Why exportfs would reject this option list, or None."""
    if not opts:
        return "an empty option list '()' is not allowed"
    names = set()
    for o in opts:
        if "=" in o:
            name, value = o.split("=", 1)
            if not _valid_value(name, value):
                return f"option {o!r} is not one exportfs accepts"
            names.add(name)
        elif o in _FLAG_OPTIONS:
            names.add(o)
        else:
            return f"unknown export option {o!r}"
    for a, b in _CONFLICTS:
        if a in names and b in names:
            return f"options {a!r} and {b!r} contradict each other"
    return None


_HOST_WILDCARD = re.compile(r"^[A-Za-z0-9*?\[\]\-]+(\.[A-Za-z0-9*?\[\]\-]+)*$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.?$")


def client_problem(spec: str) -> str | None:
    """Why `spec` is not a client exports(5) accepts (host, IP, network, wildcard, @netgroup, *), or None."""
    if not spec:
        return "an empty client"
    if any(c.isspace() for c in spec) or any(c in spec for c in "(),#\"'\\"):
        return f"client {spec!r} contains whitespace, quotes, '#', ',' or parentheses"
    if spec == "*":
        return None
    if spec.startswith("@"):
        return None if re.fullmatch(r"@[A-Za-z0-9_.\-]+", spec) else f"netgroup {spec!r} is not a valid name"
    if spec.startswith("-"):
        return f"client {spec!r} starts with '-' (that is the default-options syntax)"
    if spec.startswith("gss/"):
        return None if spec in ("gss/krb5", "gss/krb5i", "gss/krb5p") else f"unknown gss flavour {spec!r}"
    addr = spec[1:-1] if spec.startswith("[") and spec.endswith("]") else spec
    if "/" in addr:
        net, _, mask = addr.partition("/")
        try:
            ipaddress.ip_address(net)
        except ValueError:
            return f"{spec!r}: {net!r} is not an IP address (a network is address/prefix)"
        if re.fullmatch(r"[0-9]+", mask):
            limit = 32 if "." in net else 128
            if int(mask) > limit:
                return f"{spec!r}: prefix /{mask} is longer than {limit} bits"
            return None
        try:
            m = ipaddress.IPv4Address(mask)
        except ValueError:
            return f"{spec!r}: {mask!r} is neither a prefix length nor a netmask"
        bits = f"{int(m):032b}"
        if "01" in bits:
            return f"{spec!r}: {mask} is not a contiguous netmask"
        return None
    if ":" in addr:
        try:
            ipaddress.IPv6Address(addr)
            return None
        except ValueError:
            return f"{spec!r} is not an IPv6 address"
    if re.fullmatch(r"[0-9.]+", addr):
        try:
            ipaddress.IPv4Address(addr)
            return None
        except ValueError:
            return f"{spec!r} looks like an IPv4 address but is not one"
    if any(c in addr for c in "*?["):
        return None if _HOST_WILDCARD.match(addr) and addr.count("[") == addr.count("]") else f"wildcard {spec!r} is malformed"
    return None if _HOST.match(addr) and len(addr) <= 253 else f"{spec!r} is not a valid host name"
