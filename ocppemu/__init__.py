"""ocppemu: a workbench that emulates OCPP charging stations for testing CSMS servers."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
