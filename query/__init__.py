"""The query layer: the only way pages, exports and the CLI read the warehouse.

Every public function takes a :class:`query.viewer.Viewer` first and applies the
role rules and small-cell protection (``query/suppression.py``) before returning.
"""
