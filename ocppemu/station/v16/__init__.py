"""OCPP 1.6 charge point."""
