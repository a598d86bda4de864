"""The contract writers and readers share: what the words in the warehouse mean.

Everything here is imported *downwards* by both sides (``pipelines/`` writes with
these names, ``query/``, ``maps/`` and the pages read with them), so no reader has
to import a writer to know a vocabulary. It holds data only: no SQL run, no I/O.

- :mod:`routes.contract.vocabularies`: the closed vocabularies (record and
  trafficking types, source kinds, identifier kinds, geocoding precisions, the
  indicators a filter offers, the hot-spot patterns, the audit log's actions).
"""
