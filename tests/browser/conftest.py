"""Makes the harness fixtures available to every test under tests/browser."""

from __future__ import annotations

from harness import start_voila

__all__ = ["start_voila"]
