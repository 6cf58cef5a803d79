"""``python -m ocppemu``: the command line."""

from __future__ import annotations

from ocppemu.cli import main

raise SystemExit(main())
