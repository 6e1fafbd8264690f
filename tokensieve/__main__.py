"""``python -m tokensieve``: the command line (see :mod:`tokensieve.cli`)."""

from .cli import main

raise SystemExit(main())
