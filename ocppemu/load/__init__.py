"""Load mode: many stations on one machine (``ocppemu load``), sharded over worker processes.

* :mod:`~ocppemu.load.histogram` -- mergeable latency histograms (log buckets, exact merge across shards).
* :mod:`~ocppemu.load.metrics` -- counters and histograms a shard keeps from its frames and events.
* :mod:`~ocppemu.load.shard` -- the engine-neutral shard: a workbench owning a range of station ids.
* :mod:`~ocppemu.load.worker` -- a shard in its own local process, served over a pipe.
* :mod:`~ocppemu.load.coordinator` -- one :class:`~ocppemu.interface.WorkbenchAPI` over many shards.
* :mod:`~ocppemu.load.report` -- the JSON and HTML reports; :mod:`~ocppemu.load.live` -- the terminal view.
* :mod:`~ocppemu.load.target` -- a minimal CSMS to load (``ocppemu load-target``).
"""
