"""The layering written in ``docs/ARCHITECTURE.md``, checked on the code by walking its syntax trees.

- Every import of every module (at the top, deferred inside a function, under
  ``TYPE_CHECKING``, or ``importlib.import_module("literal")``) is allowed by the
  "may import" column of the folder table in ``docs/ARCHITECTURE.md``, read from
  the document itself, so the document stays true.
- Only ``app.py``, ``ui/`` and ``pages/`` import Streamlit.
- Only the sign-in code and the admin CLI construct a viewer that may be an admin.
- ``routes/contract/`` (what writers and readers share) imports only itself,
  ``routes.errors``, the standard library and pandas: it holds names and SQL
  text, never I/O; and :func:`routes.contract.sql.compose` is always given a
  literal template, so every piece of a composed query is a declared name, a
  number or more composed SQL.
- No test file imports another test file: what tests share is in ``tests/support/``
  or a fixture of ``tests/conftest.py``; only the browser harness launches Chromium,
  and only for a test marked ``browser``.

Where the code breaks a rule today, the break is listed below with its reason.
The lists may only shrink: a new break fails, and so does a listed one that is
gone (strike it off the list, so the list stays the truth).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARCHITECTURE = REPO / "docs" / "ARCHITECTURE.md"

#: Folders outside the table: they drive the product from outside and may import any of it.
TOOLS = {
    "bench": "measures speed and memory of the product's own entry points",
    "tests": "tests the product",
}

# ------------------------------------------------------------------ the known breaks
# Each entry: (file, what it imports) -> why it is there and what removes it.

_WRITERS_AUDIT = (
    "a writer records its change in the audit log through query.audit and names its actor with "
    "query.viewer.Viewer, both above pipelines/: removed when the audit writer and the viewer type "
    "move below (routes/ or a contract package; issue 20)"
)
KNOWN_IMPORT_BREAKS: dict[tuple[str, str], str] = {
    ("routes/accounts.py", "query"): (
        "sign-in returns a query.viewer.Viewer and checks roles with query.policy, above routes/: "
        "removed when accounts move above query/ or the viewer type below routes/"
    ),
    ("pipelines/ingest/__init__.py", "query"): _WRITERS_AUDIT,
    ("pipelines/retention.py", "query"): _WRITERS_AUDIT,
    ("pipelines/ingest/sources.py", "query"): _WRITERS_AUDIT,
    ("pipelines/ingest/upload_audit.py", "query"): _WRITERS_AUDIT,
    ("pipelines/build/release.py", "query"): (
        "the release build reads query.release's table names and rules (the reader's half of the "
        "release contract): removed when those names move to the contract package (issue 20)"
    ),
    ("query/flows.py", "pipelines"): (
        "the own-records scope rebuilds flow tables with pipelines.build.flows (a deferred import): "
        "removed with the engine seam, the build steps callable from below both (issue 20)"
    ),
    ("query/scope.py", "pipelines"): (
        "the own-records scope runs the build steps on its in-memory database (a deferred import): "
        "removed with the engine seam (issue 20)"
    ),
}

KNOWN_STREAMLIT_OUTSIDE: dict[str, str] = {
    "bench/floor_app.py": (
        "the bench's floor: a bare Streamlit page with one map that the browser figures are divided "
        "by; a Streamlit script by design, run only by bench/"
    ),
}

#: Where a viewer that may be an admin is made legitimately: the sign-in code and the command line.
ADMIN_MAKERS = {
    "routes/accounts.py": "local sign-in: the role stored with the account",
    "ui/session.py": "sign-in (OIDC claims, the demo role switcher)",
    "ui/session_cookie.py": "a remembered sign-in: the role stored with the account",
    "pipelines/cli/admin.py": "the admin CLI: whoever holds the machine",
    "pipelines/cli/reading.py": "the command line reads as the role named by --as (whoever holds the machine)",
    "pipelines/cli/deconflict.py": "the command line reads as the role named by --as (whoever holds the machine)",
    "pipelines/cli/brief.py": "the command line exports as the role named by --as (whoever holds the machine)",
}
_CLI_ACTOR = (
    "a command-line change is made as an admin 'cli:<os user>' here, in a library module, rather "
    "than by the admin CLI that calls it: removed when the command line builds its actor and passes it down"
)
#: ``(file, function)`` of every other construction of a viewer that is, or may be, an admin.
KNOWN_ADMIN_VIEWERS: dict[tuple[str, str], str] = {
    ("pipelines/ingest/sources.py", "_audit_source"): _CLI_ACTOR,
    ("query/operations.py", "_cli_actor"): _CLI_ACTOR,
    ("pipelines/ingest/upload_audit.py", "cli_actor"): _CLI_ACTOR,
    ("briefings/audiences.py", "audience_viewer"): (
        "an export reads as its audience's role, taken from a table; load_audiences refuses any role "
        "outside AGGREGATE_ROLES, so it is never an admin (the check is at run time, not in the syntax)"
    ),
}


# ------------------------------------------------------------------ the table


def read_layer_table(text: str) -> tuple[list[str], dict[str, set[str]], dict[str, set[str] | None]]:
    """The folder table of ``docs/ARCHITECTURE.md``: its units in order, what each may import.

    Returns ``(units, first_party, third_party)``: a unit is a top-level package
    (``routes``) or module (``app``); ``first_party[unit]`` the units it may
    import; ``third_party[unit]`` the outside packages it may import when its row
    names ``stdlib`` (then only those), else ``None`` (any).
    """
    rows = []
    in_table = False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells[:3] == ["folder", "owns", "may import"]:
            in_table = True
            continue
        if in_table and not cells:
            break
        if in_table and not set(cells[0]) <= {"-"}:
            rows.append((cells[0], cells[-1]))
    assert rows, f"no table with the header 'folder | owns | may import' in {ARCHITECTURE}"
    units: list[str] = []
    first_party: dict[str, set[str]] = {}
    third_party: dict[str, set[str] | None] = {}
    for folder, may in rows:
        names = [n.removesuffix("/").removesuffix(".py") for n in re.findall(r"`([^`]+)`", folder)]
        assert names, f"{ARCHITECTURE}: a table row names no folder in backquotes: {folder!r}"
        allowed: set[str] = set()
        outside: set[str] | None = None
        for word in (w.strip() for w in may.split(",")):
            if word == "everything above":
                allowed |= set(units)
            elif word in units:
                allowed.add(word)
            elif word == "stdlib":
                outside = outside or set()
            else:
                outside = (outside or set()) | {word}
        for name in names:  # the parts of one sub-package row (``pipelines/cli/``, its ``__main__.py``) import each other
            mates = {n for n in names if n != name} if "/" in name else set()
            first_party[name], third_party[name] = allowed | mates, outside
        units += names
    return units, first_party, third_party


UNITS, FIRST_PARTY, THIRD_PARTY = read_layer_table(ARCHITECTURE.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the code


def unit_files(unit: str) -> list[Path]:
    """The Python files of a unit (a package folder, or ``app`` for ``app.py``), less its sub-packages that have rows."""
    if (REPO / f"{unit}.py").is_file():
        return [REPO / f"{unit}.py"]
    inner = {p for u in UNITS if u.startswith(f"{unit}/") for p in unit_files(u)}
    return sorted(p for p in (REPO / unit).rglob("*.py") if "__pycache__" not in p.parts and p not in inner)


@cache
def syntax_tree(path: Path) -> ast.Module:
    """The parsed ``path`` (each file is parsed once per run)."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path``, wherever it is written."""
    tree = syntax_tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: kept as written; the code uses absolute imports only
                yield node.lineno, "." * node.level + (node.module or "")
            else:
                yield node.lineno, str(node.module)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "import_module"):
            yield node.lineno, node.args[0].value


def _top(module: str) -> str:
    return module.split(".")[0]


def unit_of(module: str) -> str:
    """The unit an absolute module name belongs to: its sub-package with a row (``pipelines/cli``), else its top."""
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        if "/".join(parts[:n]) in UNITS:
            return "/".join(parts[:n])
    return parts[0]


def import_breaks() -> dict[tuple[str, str], list[str]]:
    """``(file, imported unit or package) -> [line: module, …]`` of every import the table does not allow."""
    found: dict[tuple[str, str], list[str]] = {}
    first = set(UNITS) | set(TOOLS)
    for unit in UNITS:
        for path in unit_files(unit):
            for line, module in imports_of(path):
                top = unit_of(module)
                assert top, f"{path.relative_to(REPO)}:{line}: a relative import ({module}); write it absolute"
                if top == unit or top == "__future__":
                    continue
                if top in first:
                    ok = top in FIRST_PARTY[unit]
                else:
                    limit = THIRD_PARTY[unit]
                    ok = limit is None or top in sys.stdlib_module_names or top in limit
                if not ok:
                    key = (str(path.relative_to(REPO)), top)
                    found.setdefault(key, []).append(f"{line}: {module}")
    return found


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, str]:
    """Each node of ``tree`` mapped to the name of the innermost function holding it (``<module>``)."""
    owner: dict[ast.AST, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else name
            owner[child] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return owner


def admin_viewers(path: Path) -> list[tuple[str, int, str]]:
    """``(function, line, role)`` of every viewer made in ``path`` whose role is ``admin`` or not a literal.

    A viewer is made by calling ``Viewer(...)`` (or ``something.Viewer(...)``), or
    by ``replace(viewer, role=...)``; its role is the second positional argument
    or ``role=``. A role that is an expression (a column, an argument) may be admin.
    """
    tree = syntax_tree(path)
    owner = _enclosing_functions(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        role = next((k.value for k in node.keywords if k.arg == "role"), None)
        if called == "Viewer" and role is None and len(node.args) >= 2:
            role = node.args[1]
        if called not in ("Viewer", "replace") or role is None:
            continue
        if isinstance(role, ast.Constant) and role.value != "admin":
            continue
        shown = repr(role.value) if isinstance(role, ast.Constant) else ast.unparse(role)
        out.append((owner.get(node, "<module>"), node.lineno, shown))
    return out


def _python_folders() -> set[str]:
    """Top-level folders of the repository that hold Python code (not ``data/``, ``docs/``, hidden ones), and top-level modules."""
    folders = {
        d.name for d in REPO.iterdir()
        if d.is_dir() and not d.is_symlink() and not d.name.startswith(".") and d.name not in ("data", "docs")
        and next(d.rglob("*.py"), None) is not None
    }
    return folders | {p.stem for p in REPO.glob("*.py")}


# ------------------------------------------------------------------ the tests


def test_the_table_is_read_and_names_every_folder() -> None:
    assert UNITS[:2] == ["routes", "geo"] and {"query", "pages", "app", "ui"} <= set(UNITS), UNITS
    assert FIRST_PARTY["routes"] == set() and THIRD_PARTY["routes"] is not None
    assert "routes" in FIRST_PARTY["pages"] and "briefings" in FIRST_PARTY["app"]
    unknown = _python_folders() - set(UNITS) - set(TOOLS)
    assert not unknown, (
        f"{sorted(unknown)} hold Python code but have no row in the folder table of {ARCHITECTURE.name}: "
        "add a row (what it owns, what it may import)"
    )


def test_imports_follow_the_table() -> None:
    found = import_breaks()
    new = {key: lines for key, lines in found.items() if key not in KNOWN_IMPORT_BREAKS}
    gone = sorted(set(KNOWN_IMPORT_BREAKS) - set(found))
    assert not new, (
        f"imports that {ARCHITECTURE.name}'s table does not allow (fix the import, or change the table "
        "if the layering is meant to change):\n"
        + "\n".join(f"  {file} imports {top}: lines {lines}" for (file, top), lines in sorted(new.items()))
    )
    assert not gone, f"no longer broken, strike them off KNOWN_IMPORT_BREAKS: {gone}"


def test_only_the_app_and_its_pages_import_streamlit() -> None:
    found = {}
    for unit in [*UNITS, "bench"]:
        if unit in ("app", "ui", "pages"):
            continue
        for path in unit_files(unit):
            lines = [f"{line}: {module}" for line, module in imports_of(path) if _top(module) == "streamlit"]
            if lines:
                found[str(path.relative_to(REPO))] = lines
    new = {file: lines for file, lines in found.items() if file not in KNOWN_STREAMLIT_OUTSIDE}
    assert not new, f"Streamlit imported outside app.py, ui/ and pages/ (move the code to ui/): {new}"
    gone = sorted(set(KNOWN_STREAMLIT_OUTSIDE) - set(found))
    assert not gone, f"no longer importing Streamlit, strike them off KNOWN_STREAMLIT_OUTSIDE: {gone}"


def test_only_sign_in_and_the_admin_cli_make_an_admin_viewer() -> None:
    found: dict[tuple[str, str], list[str]] = {}
    for unit in UNITS:
        for path in unit_files(unit):
            file = str(path.relative_to(REPO))
            if file in ADMIN_MAKERS:
                continue
            for function, line, role in admin_viewers(path):
                found.setdefault((file, function), []).append(f"{line}: role={role}")
    new = {key: lines for key, lines in found.items() if key not in KNOWN_ADMIN_VIEWERS}
    assert not new, (
        "viewers that are or may be admins, made outside the sign-in code and the admin CLI "
        f"({', '.join(ADMIN_MAKERS)}); take the viewer from the caller instead:\n"
        + "\n".join(f"  {file} {function}(): {lines}" for (file, function), lines in sorted(new.items()))
    )
    gone = sorted(set(KNOWN_ADMIN_VIEWERS) - set(found))
    assert not gone, f"no longer making an admin viewer, strike them off KNOWN_ADMIN_VIEWERS: {gone}"


# ------------------------------------------------------------------ each vocabulary once

#: Files that still spell a contract vocabulary out: why, and what removes them.
KNOWN_VOCABULARY_COPIES: dict[str, str] = {}


def vocabulary_copies(path: Path) -> list[str]:
    """``line: name`` of every tuple or list literal in ``path`` that spells out a contract vocabulary."""
    from routes.contract import vocabularies as v

    words = {frozenset(vocab): name for name, vocab in (
        ("RECORD_TYPES", v.RECORD_TYPES), ("TRAFFICKING_TYPES", v.TRAFFICKING_TYPES),
        ("SOURCE_KINDS", v.SOURCE_KINDS), ("IDENTIFIER_KINDS", v.IDENTIFIER_KINDS),
        ("PRECISIONS", v.PRECISIONS), ("IN_STATE_PRECISIONS", v.IN_STATE_PRECISIONS),
        ("INDICATORS", v.INDICATORS), ("HOTSPOT_PATTERNS", tuple(v.HOTSPOT_PATTERNS)),
    )}
    found = []
    for node in ast.walk(syntax_tree(path)):
        items = node.elts if isinstance(node, ast.Tuple | ast.List) else []  # a dict keyed by one is a table of its values' attributes
        if len(items) < 3 or not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in items):
            continue
        name = words.get(frozenset(e.value for e in items))  # type: ignore[union-attr]
        if name:
            found.append(f"{node.lineno}: {name}")
    return found


def test_each_vocabulary_is_spelled_out_once() -> None:
    """The contract's vocabularies are written in ``routes/contract/`` only; everything else imports them."""
    found = {}
    for unit in [*UNITS, "bench"]:
        for path in unit_files(unit):
            file = str(path.relative_to(REPO))
            if not file.startswith("routes/contract/") and (lines := vocabulary_copies(path)):
                found[file] = lines
    new = {file: lines for file, lines in found.items() if file not in KNOWN_VOCABULARY_COPIES}
    assert not new, f"a vocabulary spelled out again: import it from routes.contract.vocabularies: {new}"
    gone = sorted(set(KNOWN_VOCABULARY_COPIES) - set(found))
    assert not gone, f"no longer copying a vocabulary, strike them off KNOWN_VOCABULARY_COPIES: {gone}"


def test_the_vocabulary_check_sees_a_copy(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('KINDS = ("ngo", "hotline", "fusion", "law_enforcement")\nOTHER = ("ngo", "x", "y")\n',
                      encoding="utf-8")
    assert vocabulary_copies(sample) == ["1: SOURCE_KINDS"]


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The walkers find a deferred, a relative and a dynamic import, a literal admin and a role from a variable."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import importlib\n"
        "from . import sibling\n"
        "def f(role):\n"
        "    from query.viewer import Viewer\n"
        "    importlib.import_module('pipelines.ingest.tokens')\n"
        "    return Viewer('a', 'admin'), Viewer(user='b', role=role), Viewer('c', 'partner')\n",
        encoding="utf-8",
    )
    assert sorted(m for _, m in imports_of(sample)) == [".", "importlib", "pipelines.ingest.tokens", "query.viewer"]
    assert [(fn, role) for fn, _, role in admin_viewers(sample)] == [("f", "'admin'"), ("f", "role")]


# ------------------------------------------------------------------ tests import no test file


def test_no_test_file_imports_another() -> None:
    """What tests share lives in ``tests/support/`` or ``tests/conftest.py``, never in a test file."""
    tests = REPO / "tests"
    test_modules = {p.stem for p in tests.glob("test_*.py")}
    helpers = {p.stem for p in tests.glob("*.py")} - test_modules - {"conftest"}
    found = []
    for path in sorted(tests.rglob("*.py")):
        for line, module in imports_of(path):
            parts = module.split(".")
            if parts[-1] in test_modules or (parts[0] == "tests" and len(parts) > 1 and parts[1] in test_modules):
                found.append(f"{path.relative_to(REPO)}:{line} imports {module}")
            elif parts[0] in helpers or (parts[0] == "tests" and len(parts) > 1 and parts[1] in helpers):
                found.append(f"{path.relative_to(REPO)}:{line} imports {module}: move it to tests/support/")
    found += [f"tests/{name}.py: a helper beside the tests: move it to tests/support/" for name in sorted(helpers)]
    assert not found, "test files importing test files (move what they share to tests/support/ or "\
        "a fixture in tests/conftest.py):\n" + "\n".join(found)


def test_only_the_browser_harness_launches_chromium() -> None:
    """Chromium starts only in ``tests/support/browser.py`` (``launch_chromium``), which refuses unmarked tests."""
    harness = REPO / "tests" / "support" / "browser.py"
    found = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        tree = syntax_tree(path)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr == "launch" and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "chromium" and path != harness):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, f"Chromium launched outside tests/support/browser.py (use launch_chromium): {found}"


def test_an_unmarked_test_cannot_start_chromium_or_the_app_server(tmp_path: Path) -> None:
    """This test has no browser marker: the harness refuses before anything starts."""
    from tests.support import browser

    assert not browser.MARKED
    with pytest.raises(pytest.fail.Exception, match="without the browser marker"):
        browser.launch_chromium(object())
    with pytest.raises(pytest.fail.Exception, match="without the browser marker"):
        with browser.streamlit_server(warehouse=tmp_path / "routes.duckdb"):
            pass


@pytest.mark.browser
def test_a_browser_test_is_known_to_the_harness() -> None:
    """``tests/conftest.py`` tells the harness about the marker (starts nothing itself)."""
    from tests.support import browser

    assert browser.MARKED


def test_a_sub_package_row_is_its_own_unit() -> None:
    """``pipelines/cli/`` has its own row: it may read query/ and briefings/; the rest of pipelines/ may not import it."""
    assert unit_of("pipelines.cli.reading") == "pipelines/cli" and unit_of("pipelines.build") == "pipelines"
    assert {"query", "briefings", "pipelines"} <= FIRST_PARTY["pipelines/cli"]
    assert not {"pipelines/cli", "query", "briefings"} & FIRST_PARTY["pipelines"]
    assert REPO / "pipelines" / "cli" / "reading.py" not in unit_files("pipelines")
    assert REPO / "pipelines" / "__main__.py" in unit_files("pipelines/__main__")


# ------------------------------------------------------------------ the contract package

CONTRACT = REPO / "routes" / "contract"
#: What ``routes/contract/`` may import: itself and the one error tree (no settings, no files, no warehouse).
CONTRACT_MAY_IMPORT = ("routes.contract", "routes.errors")


def contract_imports(path: Path) -> list[str]:
    """``line: module`` of every first-party import in ``path`` outside :data:`CONTRACT_MAY_IMPORT`, and of any third-party one but pandas."""
    found = []
    for line, module in imports_of(path):
        top = _top(module)
        if top == "__future__" or top in sys.stdlib_module_names or top == "pandas":
            continue
        if top == "routes" and module.startswith(CONTRACT_MAY_IMPORT):
            continue
        found.append(f"{line}: {module}")
    return found


def test_the_contract_imports_only_itself_and_the_errors() -> None:
    found = {str(p.relative_to(REPO)): lines for p in sorted(CONTRACT.glob("*.py")) if (lines := contract_imports(p))}
    assert not found, f"routes/contract/ holds names and SQL text only; it may import {CONTRACT_MAY_IMPORT}: {found}"


def composed_from_variables(path: Path) -> list[str]:
    """``line`` of every ``compose(...)`` call in ``path`` whose template is not a literal (or a module constant of one)."""
    tree = syntax_tree(path)
    constants = {
        target.id for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str) for target in node.targets if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "compose"):
            continue
        template = node.args[0] if node.args else None
        literal = isinstance(template, ast.Constant) and isinstance(template.value, str)
        if not literal and not (isinstance(template, ast.Name) and template.id in constants):
            found.append(f"{node.lineno}")
    return found


def test_compose_is_given_literal_templates() -> None:
    found = {}
    for unit in UNITS:
        for path in unit_files(unit):
            if lines := composed_from_variables(path):
                found[str(path.relative_to(REPO))] = lines
    assert not found, f"compose() with a template that is not a literal (write the template in the call): {found}"


def test_the_contract_checks_see_what_they_look_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from routes import settings\nfrom routes.contract.sql import compose\nimport pandas\n"
        "T = 'SELECT {x}'\n"
        "def f(template, x):\n"
        "    return compose(template, x=x), compose('SELECT {x}', x=x), compose(T, x=x), compose(f'{x}')\n",
        encoding="utf-8",
    )
    assert contract_imports(sample) == ["1: routes"]
    assert composed_from_variables(sample) == ["6", "6"]
