"""The MongoDB backend, on pymongo's ``AsyncMongoClient``.

Collections and indexes follow the project plan. Optional server features are detected at ``init``, never
assumed, and reported by ``health``: ``meter_values`` is a time-series collection where the server can make
one, messages get a TTL index when ``retention_days`` is set, a text index backs free-text search where the server
has text indexes (search falls back to case-insensitive regular expressions otherwise), and ``$percentile`` is used
for response-time percentiles when the server knows it. Each record kind lives in its own module;
:class:`MongoRepository` puts them together.
"""

from __future__ import annotations

from typing import Literal

from ocppemu.store.mongo_docs import MongoDocs
from ocppemu.store.mongo_messages import MongoMessages
from ocppemu.store.mongo_records import MongoRecords
from ocppemu.store.mongo_stations import MongoStations

__all__ = ["MongoRepository"]


class MongoRepository(MongoStations, MongoMessages, MongoRecords, MongoDocs):
    """Repository on the MongoDB database named in ``url`` (``ocpp_emu`` when the URL names none)."""

    backend: Literal["sqlite", "mongodb"] = "mongodb"
