"""``python -m gitplane``."""
from gitplane.cli import run

run()
