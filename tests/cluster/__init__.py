"""Test harness: a real, kubelet-less Kubernetes control plane on loopback (issue 6).

From pytest, use the session fixture ``lab_cluster`` (tests/cluster/fixtures.py, loaded as a
plugin by tests/conftest.py). From a shell, use ``scripts/lab-cluster up|env|status|down``.
"""

from .api import ApiClient, ApiError
from .harness import (
    LAB_NODES,
    ClusterError,
    LabCluster,
    NodeSpec,
    ToolsMissing,
    build_tools,
    missing_tools,
    tools_bin_dir,
)

__all__ = [
    "LAB_NODES",
    "ApiClient",
    "ApiError",
    "ClusterError",
    "LabCluster",
    "NodeSpec",
    "ToolsMissing",
    "build_tools",
    "missing_tools",
    "tools_bin_dir",
]
