"""SQL text safe by construction: identifiers from the contract, values as parameters.

A query names tables and columns through :func:`ident`, which accepts only the
names the contract declares (:data:`routes.contract.tables.DERIVED_TABLES` and
the relations listed beside them), and fills a literal template with
:func:`compose`, which accepts only :class:`SQL` (from :func:`ident`,
:func:`compose` or :func:`join`) and numbers. A user's value never enters the
text: it goes as a ``?`` parameter. The identifiers are written as they are
(all are lower-case words), so the text is the same that DuckDB and Spark SQL
both run.

>>> compose("SELECT count(*) FROM {table} WHERE month >= ?", table=ident("cell_counts"))
'SELECT count(*) FROM cell_counts WHERE month >= ?'
>>> ident("cell_counts; DROP TABLE records")
Traceback (most recent call last):
...
routes.errors.UnknownIdentifier: 'cell_counts; DROP TABLE records' is not a table or column the warehouse contract declares; declare it in routes/contract/tables.py (or flow_tables.py) if it is new
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from routes.errors import UnknownIdentifier


class SQL(str):
    """SQL text built only from literals, numbers and declared identifiers (never a user's value).

    Make it with :func:`ident`, :func:`compose` or :func:`join`; a builder of a
    fixed expression from numbers (:func:`geo.grid.sql_cell_to_parent`) returns one too.
    """

    __slots__ = ()


@dataclass(frozen=True)
class Table:
    """A table (or a working relation) of the warehouse contract: its name, key and columns, in order."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"table {self.name!r}: key columns {missing!r} are not among its columns")


@cache
def declared_names() -> frozenset[str]:
    """Every table and column name :func:`ident` accepts."""
    from routes.contract import tables

    names = set(tables.WORKING_RELATIONS) | set(tables.WORKING_COLUMNS)
    for table in (*tables.DERIVED_TABLES, *tables.CONTROL_TABLES):
        names.add(table.name)
        names.update(table.columns)
    return frozenset(names)


def ident(name: str) -> SQL:
    """``name`` as SQL, if the contract declares a table or column of that name; else :class:`UnknownIdentifier`.

    >>> ident("flow_facts")
    'flow_facts'
    """
    if not isinstance(name, str) or name not in declared_names():
        raise UnknownIdentifier(
            f"{name!r} is not a table or column the warehouse contract declares; "
            "declare it in routes/contract/tables.py (or flow_tables.py) if it is new"
        )
    return SQL(name)


def idents(names: Iterable[str]) -> SQL:
    """Declared names as a comma-separated list (a ``SELECT`` or ``GROUP BY`` list).

    >>> idents(["month", "cell"])
    'month, cell'
    """
    return join((ident(n) for n in names), ", ")


#: The separators :func:`join` puts between parts.
SEPARATORS = (", ", ",\n        ", " AND ", " OR ", " | ", "\nUNION ALL\n", " UNION ALL ", "")


def join(parts: Iterable[str | int], sep: str) -> SQL:
    """``parts`` (each :class:`SQL`) joined by ``sep``, one of :data:`SEPARATORS`."""
    if sep not in SEPARATORS:
        raise ValueError(f"separator {sep!r} is not one of {SEPARATORS!r}")
    items = list(parts)
    for part in items:
        _check(part, "a part")
    return SQL(sep.join(str(p) for p in items))


def compose(template: str, /, **parts: str | int | float) -> SQL:
    """The literal ``template`` with each ``{name}`` filled by ``parts[name]``: :class:`SQL` or a number only.

    Checked when called, not by the type checker: text that a caller holds as
    ``str`` (:meth:`query.filters.Filters.where` is typed so) must still be an
    :class:`SQL` instance.

    >>> compose("SELECT {n} AS res FROM {t}", n=4, t=ident("cell_counts"))
    'SELECT 4 AS res FROM cell_counts'
    >>> compose("SELECT * FROM {t}", t="records WHERE 1=1")
    Traceback (most recent call last):
    ...
    TypeError: part 't' is a plain str ('records WHERE 1=1'); pass it through ident(), compose() or join()
    """
    for name, part in parts.items():
        _check(part, f"part {name!r}")
    return SQL(template.format(**parts))


def _check(part: object, what: str) -> None:
    if isinstance(part, SQL) or (isinstance(part, int | float) and not isinstance(part, bool)):
        return
    if isinstance(part, str):
        raise TypeError(f"{what} is a plain str ({part!r}); pass it through ident(), compose() or join()")
    raise TypeError(f"{what} is a {type(part).__name__} ({part!r}); SQL parts are SQL text or numbers")


def vocabulary_literal(word: str, choices: tuple[str, ...]) -> SQL:
    """``word`` as a quoted SQL literal, if it is one of the vocabulary ``choices`` (a level, a kind); else ``ValueError``.

    For a constant column of a generated query (``'county' AS level``): the
    choices are the contract's own words, never a user's text.

    >>> vocabulary_literal("county", ("county", "region"))
    "'county'"
    """
    if word not in choices or not word.isidentifier():
        raise ValueError(f"{word!r} is not one of {choices!r}")
    return SQL(f"'{word}'")


def relation(source: SQL | str) -> SQL:
    """What a generated query reads ``FROM``: :class:`SQL` (a parenthesised query) as it is, else a declared name.

    A ``str`` that is a parenthesised query is accepted as well: the Spark flow
    step (``pipelines/build/spark_flows.py``) still builds its sub-query with an
    f-string around :class:`SQL` text, which makes it a ``str`` again.
    """
    if isinstance(source, SQL):
        return source
    if isinstance(source, str) and source.startswith("(") and source.endswith(")"):
        return SQL(source)
    return ident(source)


def condition(where: SQL | str) -> SQL:
    """A ``WHERE`` body for a generated query: :class:`SQL` (:meth:`query.filters.Filters.where` makes one), or ``"TRUE"``."""
    if isinstance(where, SQL):
        return where
    if where == "TRUE":
        return SQL(where)
    raise TypeError(f"a condition must be SQL text (Filters.where, compose()), not a plain str: {where!r}")


def string_literal(text: str) -> SQL:
    """``text`` as a SQL string literal, its quotes doubled.

    Only for a constant of the code that the query's text holds (the label of
    records without a region), or a query whose text both engines share and that
    therefore takes no parameters (the indicator mask of
    ``pipelines/build/trend_aggregates.py``, from the indicator names found in
    ``records``); everywhere else a value is a ``?`` parameter.

    >>> string_literal("it's")
    "'it''s'"
    """
    return SQL("'" + str(text).replace("'", "''") + "'")


def frame_name(prefix: str, key: int) -> SQL:
    """The name of a frame a reader registers for one read: a declared ``prefix`` and ``key`` in hex.

    >>> frame_name("_flow_memo", 255)
    '_flow_memo_ff'
    """
    return SQL(f"{ident(prefix)}_{abs(int(key)):x}")


def placeholders(n: int) -> SQL:
    """``n`` parameter markers, comma-separated (an ``IN`` list or a ``VALUES`` row).

    >>> placeholders(3)
    '?, ?, ?'
    """
    return SQL(", ".join("?" * int(n)))
