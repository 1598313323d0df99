"""jenkins-kit: lab Jenkins on Kubernetes, from config to running pipelines."""

__version__ = "0.1.0"
