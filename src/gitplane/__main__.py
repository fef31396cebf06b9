"""``python -m gitplane``."""
from gitplane.cli import main

raise SystemExit(main())
