"""gitplane: write, render and check domain-driven GitOps platforms on Argo CD.

The library is ``gitplane.api`` (every command as a function), with the values of
``gitplane.model`` and ``gitplane.platform`` and the errors of ``gitplane.errors``; every
other module is internal and may change between versions."""
from __future__ import annotations

__version__ = "0.1.0"
