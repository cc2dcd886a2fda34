"""`python -m labdock` runs the same entry point as the console script."""

from labdock.cli import main

raise SystemExit(main())
