"""The OCPP 2.1 station: the 2.0.1 station extended with what 2.1 adds."""
