"""Mapping profiles: how one source's columns and codes map onto the record contract.

A profile is a small TOML file (one per source; see ``docs/ARCHITECTURE.md``,
"Mapping profiles")::

    source = "hotline"                 # optional: the source id it is meant for
    format = "csv"                     # optional: csv|tsv|xlsx|json|jsonl|geojson|parquet
    encoding = "auto"                  # optional: auto or a codec name
    sheet = "Export"                   # optional, XLSX only
    date_formats = ["%m/%d/%Y"]        # optional, tried in order before the generic parser
    list_separator = ";"               # optional, for list fields given as one string
    ignore = ["Narrative"]             # columns deliberately not loaded (free text)

    [columns]                          # contract field = source column (or a list joined with a space)
    record_id = "CaseID"
    subject_name = ["SuspectFirst", "SuspectLast"]

    [values.record_type]               # source code = contract value, per field
    T = "tip"

A file whose columns already carry the contract's names needs no profile:
:func:`profile_for_columns` builds the identity mapping.
"""

from __future__ import annotations

import codecs
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from routes.contract.vocabularies import RECORD_TYPES, TRAFFICKING_TYPES
from routes.errors import ProfileError

#: The record contract (``DESIGN.md``): every field a profile may map onto.
CONTRACT_FIELDS = (
    "record_id", "record_type", "occurred_at", "reported_at", "trafficking_type",
    "location", "address", "city", "zip", "county", "lat", "lon",
    "origin_location", "origin_address", "origin_city", "origin_zip", "origin_county",
    "origin_lat", "origin_lon",
    "victim_count", "minor_involved", "indicators",
    "phone", "email", "subject_name", "subject_dob", "vehicle_plate", "ad_handle",
    "case_number", "contact",
)

#: Fields that hold identifiers: tokenised, never stored raw.
IDENTIFIER_FIELDS = ("phone", "email", "subject_name", "subject_dob", "vehicle_plate", "ad_handle")

#: Location fields of each side (the geocoder's structured input).
LOCATION_FIELDS = ("location", "address", "city", "zip", "county", "lat", "lon")

#: Fields with a closed set of values, and those values.
ENUMS: dict[str, tuple[str, ...]] = {
    "record_type": RECORD_TYPES,
    "trafficking_type": TRAFFICKING_TYPES,
    "minor_involved": ("true", "false"),
}

#: Fields whose ``[values.*]`` table a profile may give (indicators are open-ended).
VALUE_FIELDS = (*ENUMS, "indicators")

#: File formats a profile may name.
FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl", "geojson", "parquet")

#: Other spellings accepted for contract names when a file has no profile.
ALIASES = {"lng": "lon", "origin_lng": "origin_lon", "latitude": "lat", "longitude": "lon"}

_KEYS = {
    "source", "format", "encoding", "sheet", "date_formats", "list_separator",
    "ignore", "columns", "values",
}


@dataclass(frozen=True)
class Profile:
    """A validated mapping profile.

    ``columns`` maps each contract field to the source column(s) that feed it;
    ``values`` maps, per field, a source code to a contract value.
    """

    columns: Mapping[str, tuple[str, ...]]
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: str | None = None
    format: str | None = None
    encoding: str = "auto"
    sheet: str | None = None
    date_formats: tuple[str, ...] = ()
    list_separator: str | None = None
    ignore: tuple[str, ...] = ()
    name: str = "(contract column names)"

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Every source column the profile reads, in mapping order, once each."""
        seen: dict[str, None] = {}
        for cols in self.columns.values():
            for col in cols:
                seen.setdefault(col, None)
        return tuple(seen)

    def check_columns(self, available: Sequence[str], *, file_name: str) -> None:
        """Raise :class:`ProfileError` if a mapped column is missing from the file."""
        have = set(available)
        missing = [c for c in self.source_columns if c not in have]
        if missing:
            raise ProfileError(
                f"{file_name!r} has no column {missing[0]!r} (profile {self.name!r} maps it"
                f"{' and ' + str(len(missing) - 1) + ' more' if len(missing) > 1 else ''}); "
                f"its columns are {', '.join(map(repr, available))}: fix the profile's [columns]"
            )
        if "record_id" not in self.columns:
            raise ProfileError(
                f"nothing in {file_name!r} maps to 'record_id' (columns: "
                f"{', '.join(map(repr, available))}); add `record_id = \"<column>\"` under "
                "[columns] in a profile and pass it with --profile"
            )


def load_profile(path: str | Path) -> Profile:
    """Read and validate a TOML profile.

    Raises
    ------
    ProfileError
        The file is missing, is not TOML, or says something the contract does not allow.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"no profile at {str(path)!r}; check the --profile path") from None
    except UnicodeDecodeError:
        raise ProfileError(f"profile {str(path)!r} is not UTF-8 text; save it as UTF-8") from None
    return parse_profile(text, name=path.name)


def parse_profile(text: str, *, name: str = "<profile>") -> Profile:
    """Validate profile TOML ``text`` (``name`` appears in messages).

    >>> p = parse_profile('[columns]\\nrecord_id = "CaseID"\\nsubject_name = ["F", "L"]')
    >>> p.columns["subject_name"]
    ('F', 'L')
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {name!r} is not valid TOML ({exc}); fix the syntax") from None
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ProfileError(
            f"profile {name!r} has unknown key {unknown[0]!r}; allowed keys are "
            f"{', '.join(sorted(_KEYS))}"
        )
    columns = _columns(raw.get("columns", {}), name)
    values = _values(raw.get("values", {}), name)
    fmt = _opt_str(raw, "format", name)
    if fmt is not None and fmt not in FORMATS:
        raise ProfileError(f"profile {name!r}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    encoding = _opt_str(raw, "encoding", name) or "auto"
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ProfileError(
                f"profile {name!r}: unknown encoding {encoding!r}; use 'auto', 'utf-8' or 'latin-1'"
            ) from None
    date_formats = _str_list(raw, "date_formats", name)
    for fmt_text in date_formats:
        if "%" not in fmt_text:
            raise ProfileError(
                f"profile {name!r}: date format {fmt_text!r} has no % directive; "
                "write it like '%m/%d/%Y'"
            )
    sep = _opt_str(raw, "list_separator", name)
    if sep is not None and sep == "":
        raise ProfileError(f"profile {name!r}: list_separator is empty; use e.g. ';' or ','")
    return Profile(
        columns=columns,
        values=values,
        source=_opt_str(raw, "source", name),
        format=fmt,
        encoding=encoding,
        sheet=_opt_str(raw, "sheet", name),
        date_formats=tuple(date_formats),
        list_separator=sep,
        ignore=tuple(_str_list(raw, "ignore", name)),
        name=name,
    )


def profile_for_columns(columns: Iterable[str]) -> Profile:
    """The identity profile of a file already in contract column names.

    Names match case-insensitively and ignoring surrounding spaces; ``lng`` is
    accepted for ``lon``. Columns that are not contract fields are not loaded.

    >>> profile_for_columns(["Record_ID", "lat", "lng", "Notes"]).columns
    {'record_id': ('Record_ID',), 'lat': ('lat',), 'lon': ('lng',)}
    """
    mapping: dict[str, tuple[str, ...]] = {}
    for col in columns:
        key = str(col).strip().lower()
        key = ALIASES.get(key, key)
        if key in CONTRACT_FIELDS and key not in mapping:
            mapping[key] = (str(col),)
    return Profile(columns=mapping)


def _columns(raw: object, name: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {name!r}: [columns] must be a table of field = column")
    out: dict[str, tuple[str, ...]] = {}
    for fld, cols in raw.items():
        if fld not in CONTRACT_FIELDS:
            raise ProfileError(
                f"profile {name!r}: {fld!r} under [columns] is not a contract field; "
                f"fields are {', '.join(CONTRACT_FIELDS)}"
            )
        if isinstance(cols, str):
            cols = [cols]
        if not (isinstance(cols, list) and cols and all(isinstance(c, str) and c for c in cols)):
            raise ProfileError(
                f"profile {name!r}: columns.{fld} = {cols!r} must be a column name "
                "or a non-empty list of column names"
            )
        out[fld] = tuple(cols)
    return out


def _values(raw: object, name: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {name!r}: [values] must hold tables like [values.record_type]")
    out: dict[str, dict[str, str]] = {}
    for fld, table in raw.items():
        if fld not in VALUE_FIELDS:
            raise ProfileError(
                f"profile {name!r}: [values.{fld}] is not allowed; value tables exist for "
                f"{', '.join(VALUE_FIELDS)}"
            )
        if not isinstance(table, dict):
            raise ProfileError(f"profile {name!r}: [values.{fld}] must be a table of code = value")
        mapped: dict[str, str] = {}
        for code, value in table.items():
            if isinstance(value, bool) and fld == "minor_involved":
                value = "true" if value else "false"
            if not isinstance(value, str):
                raise ProfileError(
                    f"profile {name!r}: values.{fld}.{code} = {value!r} must be a string"
                )
            allowed = ENUMS.get(fld)
            if allowed is not None and value not in allowed:
                raise ProfileError(
                    f"profile {name!r}: values.{fld}.{code} = {value!r} is not one of "
                    f"{', '.join(allowed)}"
                )
            mapped[str(code)] = value
        out[fld] = mapped
    return out


def _opt_str(raw: Mapping[str, object], key: str, name: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ProfileError(f"profile {name!r}: {key} = {value!r} must be a string")
    return value


def _str_list(raw: Mapping[str, object], key: str, name: str) -> list[str]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ProfileError(f"profile {name!r}: {key} = {value!r} must be a list of strings")
    return list(value)
