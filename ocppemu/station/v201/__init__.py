"""The OCPP 2.0.1 charging station engine (sans-I/O): see :class:`~ocppemu.station.v201.station.Station201`."""
