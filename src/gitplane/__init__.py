"""gitplane: write, render and check domain-driven GitOps platforms on Argo CD."""
from __future__ import annotations

__version__ = "0.1.0"
