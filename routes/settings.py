"""Every setting of Routes, in one place.

Paths derive from the repository root. Each setting can be overridden with an
environment variable prefixed ``ROUTES_``; values are read at call time (each
accessor is a function), so tests can override them with ``monkeypatch.setenv``.

=========================  ==============================================  ===============================
environment variable       meaning                                          default
=========================  ==============================================  ===============================
``ROUTES_WAREHOUSE``       the DuckDB warehouse file the app reads          ``data/warehouse/routes.duckdb``
``ROUTES_CONTROL``         the SQLite store of accounts, audit log,         ``data/warehouse/control.sqlite``
                           operations and acknowledgements (app-written)
``ROUTES_KEY_FILE``        the secret HMAC key for identifier tokens;       ``data/secrets/routes.key``
                           created with mode 0600 on first use
``ROUTES_AUDIT_KEY_FILE``  the secret key of the audit log's MAC chain;     ``audit.key`` beside the
                           created with mode 0600 on first use              token key
``ROUTES_AUDIT_ANCHOR``    the append-only file each audit entry's head     ``audit.anchor`` beside the
                           (count and MAC) is appended to                   token key
``ROUTES_DEMO_DIR``        where ``pipelines demo`` writes its exports      ``data/demo``
``ROUTES_DEMO_RECORDS``    size of the demo that ``make run`` generates     ``60000``
``ROUTES_K``               small-cell threshold k (only raised, never       ``11``
                           below 11)
``ROUTES_RELEASE_RHO``     privacy budget of one protected release          ``0.75``
                           (ρ-zCDP, split over its 26 measurements
                           by weight, Σw 24.7; see
                           ``pipelines/build/release.py``)
``ROUTES_RELEASE_RHO_      ρ all charged rebuilds of any 365 days may       ``9`` (12 charged
YEAR``                     spend together; past it the release stays        rebuilds a year)
                           as it was
``ROUTES_HIGHWAYS``        highway layer for corridors (GeoJSON,            the schematic layer in
                           Shapefile or GeoParquet)                         ``data/reference/``
``ROUTES_TASK_FORCES``     task-force configuration (CSV: task_force,       ``data/task_forces.csv``
                           name, county_fips)
``ROUTES_TILE_URL``        optional basemap tile URL template; empty =      empty
                           no basemap (offline)
``ROUTES_QUIET``           ``1`` hides progress bars (tests set it)         ``0``
``ROUTES_SPARK_DRIVER_     ``build --engine spark``: the Spark driver's     ``1g``
MEMORY``                   JVM heap (``512m``, ``4g``); the option
                           ``--driver-memory`` overrides it
``ROUTES_DECONFLICT_       planned operations of two agencies conflict      ``500``
DISTANCE_M``               when their areas come within this many metres
``ROUTES_UPLOAD_MATCH_    uploads per user and rolling 24 hours whose      ``10``
LIMIT``                    identifiers match another agency's records
``ROUTES_PROBE_             operations one user may add within an hour      ``5``
OPERATIONS``               before each further one is logged as a probe
``ROUTES_IDLE_MINUTES``    minutes without activity before a signed-in      ``30``
                           session ends (decimals allowed, for tests)
``ROUTES_OIDC_ROLE_CLAIM`` the OIDC claim holding a user's groups           ``groups``
``ROUTES_OIDC_ROLES``      groups mapped to roles:                          empty (no OIDC user
                           ``group=role[:task_force],…``, e.g.              gets a role)
                           ``ht-admins=admin,la-htf=analyst:la``
=========================  ==============================================  ===============================
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: The repository root: every default path hangs off it.
REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"

#: The small-cell threshold CTDC publishes with; configurable upwards only.
MIN_K = 11

#: The attribution line every map, page and export shows.
ATTRIBUTION = (
    "Contains data from GeoNames (geonames.org), CC BY 4.0. "
    "County boundaries and population: U.S. Census Bureau. Highways are schematic."
)


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def warehouse_path() -> Path:
    """The DuckDB warehouse file the app and the query layer read."""
    return _env_path("ROUTES_WAREHOUSE", DATA_DIR / "warehouse" / "routes.duckdb")


def control_path() -> Path:
    """The SQLite control store (accounts, audit log, operations, acknowledgements)."""
    default = warehouse_path().parent / "control.sqlite"
    return _env_path("ROUTES_CONTROL", default)


def key_file() -> Path:
    """The secret key for identifier tokens; it must never sit inside the warehouse."""
    return _env_path("ROUTES_KEY_FILE", DATA_DIR / "secrets" / "routes.key")


def audit_key_file() -> Path:
    """The secret key of the audit log's MAC chain; like the token key, never beside the warehouse."""
    return _env_path("ROUTES_AUDIT_KEY_FILE", key_file().parent / "audit.key")


def audit_anchor_file() -> Path:
    """The append-only file that keeps the audit log's head outside the control store."""
    return _env_path("ROUTES_AUDIT_ANCHOR", key_file().parent / "audit.anchor")


def demo_dir() -> Path:
    """Where ``python -m pipelines demo`` writes its agency exports by default."""
    return _env_path("ROUTES_DEMO_DIR", DATA_DIR / "demo")


def demo_records() -> int:
    """How many records the demo that ``make run`` builds holds."""
    return int(os.environ.get("ROUTES_DEMO_RECORDS", "60000"))


def small_cell_k() -> int:
    """The small-cell threshold k; values below :data:`MIN_K` are raised to it."""
    try:
        k = int(os.environ.get("ROUTES_K", str(MIN_K)))
    except ValueError:
        k = MIN_K
    return max(k, MIN_K)


def highways_path() -> Path:
    """The highway layer the corridor graph is built from."""
    return _env_path("ROUTES_HIGHWAYS", REFERENCE_DIR / "ca_highways_schematic.geojson")


def task_forces_path() -> Path:
    """The task-force configuration: which counties each task force covers."""
    return _env_path("ROUTES_TASK_FORCES", DATA_DIR / "task_forces.csv")


def tile_url() -> str | None:
    """A basemap tile URL template, or ``None`` for the offline default."""
    return os.environ.get("ROUTES_TILE_URL", "").strip() or None


#: The default distance under which two planned operations' areas conflict.
DEFAULT_DECONFLICT_DISTANCE_M = 500.0


def deconflict_distance_m() -> float:
    """The distance under which two operations' areas conflict, in metres."""
    from routes.errors import ConfigError

    raw = os.environ.get("ROUTES_DECONFLICT_DISTANCE_M", "").strip()
    if not raw:
        return DEFAULT_DECONFLICT_DISTANCE_M
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"ROUTES_DECONFLICT_DISTANCE_M must be a number of metres, not {raw!r}"
        ) from None
    if value < 0:
        raise ConfigError(f"ROUTES_DECONFLICT_DISTANCE_M must not be negative, not {raw!r}")
    return value


def _env_int(name: str, default: int) -> int:
    from routes.errors import ConfigError

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, not {raw!r}")
    return value


def upload_match_limit() -> int:
    """Uploads per user and rolling 24 hours allowed to match other agencies' identifiers."""
    return _env_int("ROUTES_UPLOAD_MATCH_LIMIT", 10)


def probe_operations() -> int:
    """Operations one user may add within an hour before each further one is logged as a probe."""
    return _env_int("ROUTES_PROBE_OPERATIONS", 5)


def moves_window_days() -> int:
    """Days within which two successive sightings of one identifier make a move (default 60)."""
    from routes.errors import ConfigError

    days = _env_int("ROUTES_MOVES_WINDOW_DAYS", 60)
    if days < 1:
        raise ConfigError(f"ROUTES_MOVES_WINDOW_DAYS must be at least 1 day, not {days!r}")
    return days


def circuit_min_tokens() -> int:
    """Distinct identifiers that must follow a circuit before it is kept (default 5, at least 2)."""
    from routes.errors import ConfigError

    k = _env_int("ROUTES_CIRCUIT_MIN_TOKENS", 5)
    if k < 2:
        raise ConfigError(
            f"ROUTES_CIRCUIT_MIN_TOKENS must be at least 2 (one would show a single subject's path), not {k!r}"
        )
    return k


#: ``build --engine spark``'s driver heap when neither ``--driver-memory`` nor the variable sets one.
DEFAULT_SPARK_DRIVER_MEMORY = "1g"


def spark_driver_memory() -> str:
    """The Spark driver's heap for ``build --engine spark`` (``ROUTES_SPARK_DRIVER_MEMORY``, default ``1g``).

    A JVM size as ``spark.driver.memory`` takes it: digits and one unit of
    ``k``, ``m``, ``g`` or ``t`` (``512m``, ``4g``). In local mode the executors
    run inside the driver's JVM, so this heap is the whole build's.
    """
    raw = os.environ.get("ROUTES_SPARK_DRIVER_MEMORY", "").strip() or DEFAULT_SPARK_DRIVER_MEMORY
    return check_spark_memory(raw, name="ROUTES_SPARK_DRIVER_MEMORY")


def check_spark_memory(value: str, *, name: str) -> str:
    """``value`` lower-cased when it is a JVM memory size (``512m``, ``4g``); else a ConfigError naming ``name``."""
    from routes.errors import ConfigError

    if not re.fullmatch(r"[1-9]\d*[kmgt]", value.strip().lower()):
        raise ConfigError(f"{name} must be a JVM memory size such as 512m, 1g or 4g, not {value!r}")
    return value.strip().lower()


def quiet() -> bool:
    """Whether to hide progress bars (tests and scheduled jobs)."""
    return os.environ.get("ROUTES_QUIET", "0") == "1"


def idle_minutes() -> float:
    """Minutes of inactivity after which a signed-in session ends (default 30)."""
    try:
        return max(float(os.environ.get("ROUTES_IDLE_MINUTES", "30")), 0.0)
    except ValueError:
        return 30.0


def oidc_role_claim() -> str:
    """The OIDC claim whose values (groups) decide a user's role."""
    return os.environ.get("ROUTES_OIDC_ROLE_CLAIM", "").strip() or "groups"


def oidc_roles() -> dict[str, str]:
    """OIDC groups mapped to ``role`` or ``role:task_force`` (``ROUTES_OIDC_ROLES``)."""
    mapping: dict[str, str] = {}
    for item in os.environ.get("ROUTES_OIDC_ROLES", "").split(","):
        group, sep, role = item.partition("=")
        if sep and group.strip() and role.strip():
            mapping[group.strip()] = role.strip()
    return mapping


#: The protected release's default budgets (ρ-zCDP): per release, and per 365 days of rebuilds.
DEFAULT_RELEASE_RHO = 0.75
DEFAULT_RELEASE_RHO_YEAR = 9.0


def _positive_float(name: str, default: float) -> float:
    from routes.errors import ConfigError

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive number (zCDP rho), not {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be a positive number (zCDP rho), not {raw!r}")
    return value


def release_rho() -> float:
    """ρ (zCDP) one protected release spends over all its measurements (``ROUTES_RELEASE_RHO``)."""
    return _positive_float("ROUTES_RELEASE_RHO", DEFAULT_RELEASE_RHO)


def release_rho_year() -> float:
    """ρ the charged rebuilds of any 365 days may spend together (``ROUTES_RELEASE_RHO_YEAR``)."""
    return _positive_float("ROUTES_RELEASE_RHO_YEAR", DEFAULT_RELEASE_RHO_YEAR)
