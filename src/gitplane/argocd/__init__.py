"""Argo CD semantics offline: Applications, ApplicationSets, generators, templates, discovery."""
