"""Station engines: configuration, connectors, meter, smart charging, per-version behaviour."""
