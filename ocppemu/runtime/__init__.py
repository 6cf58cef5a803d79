"""The asyncio edge of the stations: the station runtime (connection, writer, timers), uploads and back-off.

The sans-I/O station cores (:mod:`ocppemu.station`) never import this layer; it feeds them data and time.
"""
