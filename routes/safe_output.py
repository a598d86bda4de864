"""Text that leaves Routes safely: CSV a spreadsheet will not run, lines a terminal will not obey.

Agencies load their own text (``case_number``, ``contact``, quarantined rows,
file names, source names), so any cell may hold ``=HYPERLINK("…")``,
``=cmd|' /C calc'!A0`` or an ANSI escape sequence. Every CSV Routes writes
(the ``query`` CLI, every in-page table download, briefing tables) goes through
:func:`write_csv` / :func:`csv_bytes`; everything printed to a terminal goes
through :func:`terminal_text`.

- **Formulas.** A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return gets a leading ``'`` (:func:`neutralise_cell`). That
  includes negative numbers (``-12`` is written ``'-12``): the CSV is for reading
  and pasting.
- **Control characters.** C0 and C1 control characters (ESC and the rest), DEL
  and the Unicode bidirectional overrides are removed from every CSV cell (tabs
  and line breaks inside a cell are kept: CSV quotes them) and from every text
  printed to a terminal (where line breaks inside a value are removed as well,
  so one value cannot forge another line).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "csv_bytes",
    "neutralise_cell",
    "terminal_frame",
    "terminal_text",
    "write_csv",
]

#: Characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_BIDI = "\u202a-\u202e\u2066-\u2069"
#: Removed from CSV cells: every control character but tab, LF and CR; DEL; C1; bidi overrides.
_CSV_CONTROL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")
#: Removed from terminal text: every control character (tab, LF, CR included); DEL; C1; bidi overrides.
_TERMINAL_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
#: The same, keeping line breaks and tabs (for a block of text that is several lines by design).
_TERMINAL_CONTROL_KEEP_LINES = _CSV_CONTROL


def _text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tzinfo is None:
        return value.date().isoformat()  # as pandas writes a date column
    return str(value)


def neutralise_cell(value: object) -> str:
    """The CSV text of ``value``: control characters removed, a leading ``'`` when a spreadsheet would run it.

    >>> [neutralise_cell(v) for v in ["=1+1", "@SUM(A1)", "-3", "Lodi", None, 12]]
    ["'=1+1", "'@SUM(A1)", "'-3", 'Lodi', '', '12']
    >>> neutralise_cell("\\x1b[31mLA-1")
    '[31mLA-1'
    """
    text = _CSV_CONTROL.sub("", _text(value))  # first: "\x1b=cmd" must not hide its "="
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_csv(frame: pd.DataFrame, target: Path | IO[str], *, columns: Iterable[str] | None = None) -> None:
    """Write ``frame`` (the ``columns`` present, in order) as CSV with every cell and header neutralised.

    ``target`` is a path (written as UTF-8) or an open text stream (``sys.stdout``).
    """
    keep = [c for c in (columns or frame.columns) if c in frame.columns]
    if isinstance(target, str | Path):
        with open(target, "w", newline="", encoding="utf-8") as handle:
            _write_rows(frame, keep, handle)
    else:
        _write_rows(frame, keep, target)


def _write_rows(frame: pd.DataFrame, keep: list[str], handle: IO[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow([neutralise_cell(c) for c in keep])
    for row in frame[keep].astype("object").itertuples(index=False, name=None):
        writer.writerow([neutralise_cell(v) for v in row])


def csv_bytes(frame: pd.DataFrame, *, columns: Iterable[str] | None = None) -> bytes:
    """:func:`write_csv` into UTF-8 bytes (for a download button).

    >>> csv_bytes(pd.DataFrame({"case": ["=1+2", "LA-7"]}))
    b"case\\r\\n'=1+2\\r\\nLA-7\\r\\n"
    """
    buffer = io.StringIO()
    write_csv(frame, buffer, columns=columns)
    return buffer.getvalue().encode("utf-8")


def terminal_text(value: object, *, keep_lines: bool = False) -> str:
    """``value`` as text a terminal shows and never obeys: control characters removed.

    >>> terminal_text("LA-\\x1b[31m7\\x1b]0;pwned\\x07")
    'LA-[31m7]0;pwned'
    >>> terminal_text("two\\nlines")
    'twolines'
    """
    pattern = _TERMINAL_CONTROL_KEEP_LINES if keep_lines else _TERMINAL_CONTROL
    return pattern.sub("", _text(value))


def terminal_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) pass :func:`terminal_text`.

    For ``DataFrame.to_string`` tables printed to a terminal; numbers are kept.
    """
    out = frame.copy()
    out.columns = [terminal_text(c) for c in out.columns]
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: v if v is None or v is pd.NA else
                                          (terminal_text(v) if isinstance(v, str) else v))
    return out
