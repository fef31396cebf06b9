"""Writing the platform: ``init`` (the reference platform) and ``new app|component|env``."""
