"""Sans-I/O OCPP protocol core: framing, errors, catalogues, validation, RPC correlation."""
