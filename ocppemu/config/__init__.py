"""Configuration: of one station (:mod:`ocppemu.config.station`) and of the application (:mod:`ocppemu.config.app`).

This layer sits just above the protocol core (:mod:`ocppemu.ocpp`) and imports nothing else of ocppemu.
"""
