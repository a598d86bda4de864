"""The shared filters of every page and export, turned into parameterised SQL.

Filters travel in the URL's query parameters (:meth:`Filters.to_query_params`,
:meth:`Filters.from_query_params`) so a view can be bookmarked and shared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date

# The filters' vocabularies (defined once, in the contract; imported here for the pages and CLI).
from routes.contract.sql import SQL
from routes.contract.vocabularies import INDICATORS, RECORD_TYPES, SOURCE_KINDS, TRAFFICKING_TYPES

__all__ = ["INDICATORS", "RECORD_TYPES", "SOURCE_KINDS", "TRAFFICKING_TYPES", "Filters"]

_LIST_FIELDS = (
    "trafficking_types", "record_types", "source_kinds", "regions", "counties",
    "task_forces", "indicators",
)


@dataclass(frozen=True)
class Filters:
    """What a user narrowed the view to. Empty tuples mean "all".

    ``start`` and ``end`` are inclusive months (any day of the month).
    Geographic filters apply to the destination side unless a query says otherwise.
    """

    start: date | None = None
    end: date | None = None
    trafficking_types: tuple[str, ...] = field(default_factory=tuple)
    record_types: tuple[str, ...] = field(default_factory=tuple)
    source_kinds: tuple[str, ...] = field(default_factory=tuple)
    regions: tuple[str, ...] = field(default_factory=tuple)
    counties: tuple[str, ...] = field(default_factory=tuple)
    task_forces: tuple[str, ...] = field(default_factory=tuple)
    indicators: tuple[str, ...] = field(default_factory=tuple)

    def where(self, *, side: str = "dest", alias: str = "") -> tuple[str, list[object]]:
        """A SQL ``WHERE`` body over ``records`` (fixed column names, ``?`` for every value) and its parameters.

        The body is :class:`~routes.contract.sql.SQL` (a ``str``), so it goes into
        :func:`~routes.contract.sql.compose` as it is.

        >>> Filters(trafficking_types=("sex",)).where()
        ('trafficking_type IN (?)', ['sex'])
        """
        if side not in ("dest", "origin"):
            raise ValueError(f"side must be 'dest' or 'origin', not {side!r}")
        p = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: list[object] = []

        def _in(column: str, values: Sequence[object]) -> None:
            if values:
                clauses.append(f"{p}{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)

        if self.start:
            clauses.append(f"{p}month >= ?")
            params.append(self.start.replace(day=1))
        if self.end:
            clauses.append(f"{p}month <= ?")
            params.append(self.end.replace(day=1))
        _in("trafficking_type", self.trafficking_types)
        _in("record_type", self.record_types)
        _in("source_kind", self.source_kinds)
        _in(f"{side}_region", self.regions)
        _in(f"{side}_county_fips", self.counties)
        _in(f"{side}_task_force", self.task_forces)
        if self.indicators:
            clauses.append(f"list_has_any({p}indicators, ?::VARCHAR[])")
            params.append(list(self.indicators))
        return SQL(" AND ".join(clauses) or "TRUE"), params

    def with_period(self, start: date | None, end: date | None) -> Filters:
        """The same filters over another period."""
        return replace(self, start=start, end=end)

    def to_query_params(self) -> dict[str, str]:
        """Filters as URL query parameters (lists comma-joined, months ``YYYY-MM``)."""
        out: dict[str, str] = {}
        if self.start:
            out["from"] = self.start.strftime("%Y-%m")
        if self.end:
            out["to"] = self.end.strftime("%Y-%m")
        for name in _LIST_FIELDS:
            values = getattr(self, name)
            if values:
                out[name] = ",".join(values)
        return out

    @classmethod
    def from_query_params(cls, params: Mapping[str, str]) -> Filters:
        """Parse :meth:`to_query_params` output; unknown or bad values are ignored."""
        kwargs: dict[str, object] = {}
        for key, attr in (("from", "start"), ("to", "end")):
            value = params.get(key)
            if value:
                try:
                    year, month = (int(x) for x in str(value).split("-")[:2])
                    kwargs[attr] = date(year, month, 1)
                except ValueError:
                    pass
        valid = {f.name for f in fields(cls)}
        for name in _LIST_FIELDS:
            value = params.get(name)
            if value and name in valid:
                kwargs[name] = tuple(v for v in str(value).split(",") if v)
        return cls(**kwargs)  # type: ignore[arg-type]
