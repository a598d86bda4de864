"""The command line's one error edge (``pipelines/cli/__init__.py``), run in-process.

Every command given bad input (a missing or unreadable warehouse, an unknown
county, a file that is not there …) exits non-zero with ONE line on stderr that
names the problem and says what to do: never a traceback, never a silent success.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from pipelines.cli import build_parser, main

#: ``(command line, what names the problem, what says what to do)``; ``{tmp}`` is the test's folder.
BAD_INPUT = {
    "setup-demo": (["setup-demo", "--records", "-5"], "-5", "positive number"),
    "demo": (["demo", "--records", "-5", "--out", "{tmp}/demo"], "got -5", "at least 100"),
    "sources": (["sources", "list"], "has mode 0644", "chmod 600"),
    "ingest": (["ingest", "{tmp}/x.csv", "--source", "nobody"], "unknown source 'nobody'", "sources add nobody"),
    "build": (["build", "--warehouse", "{tmp}/garbage.duckdb"], "not a valid DuckDB database", "check ROUTES_WAREHOUSE"),
    "release": (["release", "load", "{tmp}/nodir"], "is not a Routes Spark build", "build --engine spark"),
    "lake": (["lake", "export", "--out", "{tmp}/lake", "--warehouse", "{tmp}/missing.duckdb"],
             "no warehouse at", "setup-demo"),
    "geocode": (["geocode", "--in", "{tmp}/missing.csv", "--column", "x"], "does not exist", "check the --in path"),
    "users": (["users", "disable", "nobody"], "no account 'nobody'", "users list"),
    "audit": (["audit", "verify", "--against", "5:abc"], "'5:abc' is neither", "audit head"),
    "retention": (["retention", "review"], "no warehouse at", "make demo"),
    "query": (["query", "cells", "--as", "partner", "--param", "res=6"], "no warehouse at", "make demo"),
    "operations": (["operations", "add", "--source", "x", "--start", "bad", "--end", "bad", "--contact", "c",
                    "--lat", "38.5", "--lng", "-121.5"], "start 'bad'", "YYYY-MM-DD HH:MM"),
    "deconflict": (["deconflict", "--as", "leadership"], "no warehouse at", "make demo"),
    "brief": (["brief", "--county", "99999", "--from", "2025-01", "--to", "2025-12", "--audience", "partner",
               "--purpose", "p", "--out", "{tmp}/b", "--as", "admin"], "unknown county '99999'", "5-digit FIPS"),
    "vendor": (["vendor", "--from", "{tmp}/nodir"], "is missing from the source folder", "--from DIR"),
}


def test_every_command_has_a_bad_input_case() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert sorted(commands) == sorted(BAD_INPUT)


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_bad_input_is_one_line_that_says_what_to_do(
    command: str, tmp_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv, problem, advice = BAD_INPUT[command]
    if command == "sources":  # a warehouse others may read
        live = Path(str(tmp_env / "warehouse" / "routes.duckdb"))
        live.parent.mkdir(parents=True)
        live.write_bytes(b"")
        live.chmod(0o644)
    (tmp_env / "garbage.duckdb").write_bytes(bytes(range(256)) * 20)  # owner-only, but not a DuckDB file
    (tmp_env / "garbage.duckdb").chmod(0o600)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no command may wait for input
    code = main([a.replace("{tmp}", str(tmp_env)) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code != 0, f"{command}: exit status 0 for bad input"
    assert len(err.splitlines()) == 1, f"{command}: not one line on stderr:\n{err}"
    assert problem in err and advice in err, f"{command}: {err!r} lacks {problem!r} or {advice!r}"
