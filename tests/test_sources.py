"""The source registry (pipelines/ingest/sources.py)."""

from __future__ import annotations

import pytest

from pipelines import cli
from pipelines.ingest import sources
from routes.errors import ConfigError, UnknownSourceError


def test_add_list_and_update(tmp_env):
    assert sources.list_sources() == []
    sources.add_source("sd_sheriff", name="San Diego Sheriff", kind="law_enforcement",
                       task_force="san_diego", contact="Sgt. B")
    sources.add_source("ngo1", name="Harbor", kind="ngo")
    sources.add_source("ngo1", name="Harbor Light", kind="ngo")  # same id: details updated
    listed = sources.list_sources()
    assert [s.source_id for s in listed] == ["ngo1", "sd_sheriff"]
    assert listed[0].name == "Harbor Light" and listed[1].task_force == "san_diego"
    assert sources.get_source("ngo1").kind == "ngo"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source_id": "Bad Id", "name": "x", "kind": "ngo"}, "source id 'Bad Id' is not valid"),
        ({"source_id": "a", "name": "x", "kind": "police"}, "kind 'police' is not one of"),
        ({"source_id": "a", "name": " ", "kind": "ngo"}, "needs a --name"),
        ({"source_id": "a", "name": "x", "kind": "ngo", "task_force": "atlantis"},
         "task force 'atlantis' is not configured"),
    ],
)
def test_bad_sources_are_refused(tmp_env, kwargs, message):
    sid = kwargs.pop("source_id")
    with pytest.raises(ConfigError, match=message):
        sources.add_source(sid, **kwargs)


def test_unknown_source_says_how_to_add_it(tmp_env):
    with pytest.raises(UnknownSourceError, match="python -m pipelines sources add nope"):
        sources.get_source("nope")


def test_cli(tmp_env, capsys):
    assert cli.main(["sources", "list"]) == 0
    assert "No sources yet" in capsys.readouterr().out
    assert cli.main(["sources", "add", "hot", "--name", "Hotline", "--kind", "hotline",
                     "--task-force", "sacramento"]) == 0
    assert cli.main(["sources", "list"]) == 0
    out = capsys.readouterr().out
    assert "hot" in out and "sacramento" in out and "Hotline" in out
    assert cli.main(["sources", "add", "x", "--name", "X", "--kind", "ngo",
                     "--task-force", "atlantis"]) == 2
    assert "atlantis" in capsys.readouterr().err


def test_adding_and_changing_a_source_is_logged(tmp_env):
    from query import audit
    from query.viewer import Viewer

    admin = Viewer("root", "admin")
    sources.add_source("ngo1", name="Harbor", kind="ngo")
    sources.add_source("ngo1", name="Harbor", kind="ngo")  # nothing changed: nothing logged
    sources.add_source("ngo1", name="Harbor Light", kind="ngo", contact="desk 555-0100", by=admin)
    log = audit.read_log(admin)
    assert log["action"].tolist() == ["source_change", "source_add"]
    assert log["user"].iloc[1].startswith("cli:") and log["user"].iloc[0] == "root"
    assert log["what"].iloc[0] == ("source 'ngo1': name 'Harbor' -> 'Harbor Light'; "
                                   "contact None -> 'desk 555-0100'")
