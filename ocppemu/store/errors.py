"""Errors the store raises. Every message is a sentence a user can act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error raised by a repository."""


class StoreUnavailableError(StoreError):
    """The backend cannot be reached right now (server down, timeout). Retrying later may succeed."""


class DuplicateStationError(StoreError):
    """A station with this ``station_id`` already exists."""

    def __init__(self, station_id: str) -> None:
        super().__init__(f"a station with id {station_id!r} already exists")
        self.station_id = station_id


class PayloadTooLargeError(StoreError):
    """A document is larger than the store accepts; nothing was written."""


class InvalidCursorError(StoreError, ValueError):
    """A page cursor that this store did not hand out."""


class StoredDataError(StoreError):
    """A stored document no longer validates (for example after a manual edit of the database)."""
