"""The contract writers and readers share: what the words in the warehouse mean.

Everything here is imported *downwards* by both sides (``pipelines/`` writes with
these names, ``query/``, ``maps/`` and the pages read with them), so no reader has
to import a writer to know a vocabulary or a table. It holds names and SQL text
only: no SQL is run here, no I/O.

- :mod:`routes.contract.vocabularies`: the closed vocabularies (record and
  trafficking types, source kinds, identifier kinds, geocoding precisions, the
  indicators a filter offers, the hot-spot patterns, the audit log's actions).
- :mod:`routes.contract.tables`: each derived table's name, key and columns, and
  the fingerprint of ``records`` the aggregate tables are built from.
- :mod:`routes.contract.flow_tables`: the flow tables and the SQL text that builds
  and reads them (shared by ``pipelines/build/flows.py``, ``pipelines/build/spark_flows.py``
  and ``query/flows.py``).
- :mod:`routes.contract.sql`: :func:`~routes.contract.sql.ident` (a declared name,
  else :class:`~routes.errors.UnknownIdentifier`) and
  :func:`~routes.contract.sql.compose` (a literal template filled only with
  declared names, numbers and composed SQL).
"""
