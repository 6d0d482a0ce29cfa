"""``python -m verification ...``: see :mod:`verification.cli`."""

from .cli import main

raise SystemExit(main())
