"""The protected release's privacy budget and expected error: the lines ``python -m pipelines release report`` prints.

From OpenDP's accountant (the privacy map of each measurement's discrete
Gaussian, and its conversion from ρ-zCDP to (ε, δ)-DP):

- per measurement: cells, sensitivity, σ, ρ spent, the 95 % error of one cell;
- the total ρ of one release, its (ε, δ) at δ = 1e-6;
- the ledger: ρ charged by the builds of the last 365 days, the yearly cap, and
  how many charged rebuilds a year the settings allow.

Only facts about the mechanism and the ledger: no count is printed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import duckdb

from pipelines.build import release as build_release
from routes import warehouse

#: δ of the (ε, δ) the report quotes.
DELTA = 1e-6


def epsilon_at(rho: float, delta: float = DELTA) -> float:
    """ε at ``delta`` of a ρ-zCDP release (OpenDP: ``make_zCDP_to_approxDP`` of a Gaussian with that ρ)."""
    dp = build_release._enable_opendp()
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int)
    gaussian = dp.m.make_gaussian(*space, scale=1 / math.sqrt(2 * rho))
    return float(dp.c.make_zCDP_to_approxDP(gaussian).map(1).epsilon(delta))


def report_lines(con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The report, one line per item."""
    rho = build_release.release_rho()
    cap = build_release.release_rho_year()
    lines = [
        f"Protected release: OpenDP discrete Gaussian, rho-zCDP {rho:g} per release "
        f"(ROUTES_RELEASE_RHO), victims clamped to {build_release.VICTIM_CAP} per record",
        "",
        f"{'measurement':<24}{'cells':>10}{'sens.':>7}{'sigma':>9}{'rho':>9}{'95% error':>11}",
    ]
    cells = _cells(con)
    total = 0.0
    for m in build_release.MEASUREMENTS:
        scale = build_release.scale_for(m, rho)
        spent = build_release.rho_of(m, scale)
        total += spent
        n = cells.get(m.name)
        lines.append(
            f"{m.name:<24}{(f'{n:,}' if n is not None else '-'):>10}{m.sensitivity:>7.3g}{scale:>9.2f}"
            f"{spent:>9.4f}{'±' + str(math.ceil(1.96 * scale)):>11}"
        )
    lines += [
        f"{'total per release':<24}{'':>10}{'':>7}{'':>9}{total:>9.4f}",
        f"  = ({epsilon_at(total):.2f}, {DELTA:g})-DP (OpenDP zCDP -> approximate DP)",
        *_subject_lines(cells),
        "",
        "Expected error per level (95 %): a measured level's own, above (reconciliation with the level",
        "above shrinks it); a sum of n released cells of one level about ±1.96 sigma sqrt(n).",
        "",
        f"Yearly cap (ROUTES_RELEASE_RHO_YEAR): rho {cap:g} = ({epsilon_at(cap):.2f}, {DELTA:g})-DP; "
        f"it allows {math.floor(cap / total + 1e-9)} charged rebuilds a year",
        "(a rebuild that changes no count reuses the stored noise and is not charged).",
    ]
    spent_year = _spent(con)
    if spent_year is not None:
        lines.append(f"Charged in the last 365 days: rho {spent_year:.4f} ({spent_year / cap:.0%} of the cap)")
    return lines


def _subject_lines(cells: dict[str, int]) -> list[str]:
    """Moves and circuits: measured per subject (linked identifiers), charged in the same ledger."""
    from pipelines.build import release_moves as brm

    lines = ["", "Per subject (linked identifiers; only when the warehouse has identifiers):"]
    subtotal = 0.0
    for name, sens, scale, spent in (
        (brm.MEASUREMENT_MOVES, f"{brm.MOVES_PER_SUBJECT}^.5", brm.moves_scale(), brm.MOVES_RHO),
        (brm.MEASUREMENT_CIRCUITS, f"{brm.CIRCUITS_PER_SUBJECT}^.5", brm.CIRCUIT_SCALE, brm.circuits_rho()),
    ):
        subtotal += spent
        n = cells.get(name)
        lines.append(
            f"{name:<24}{(f'{n:,}' if n is not None else '-'):>10}{sens:>7}{scale:>9.2f}"
            f"{spent:>9.4f}{'±' + str(math.ceil(1.96 * scale)):>11}"
        )
    lines += [
        f"{'total per subject':<24}{'':>10}{'':>7}{'':>9}{subtotal:>9.4f}",
        f"  = ({epsilon_at(subtotal):.2f}, {DELTA + brm.circuit_delta():.1e})-DP: at most "
        f"{brm.MOVES_PER_SUBJECT} county pair-years and {brm.CIRCUITS_PER_SUBJECT} circuit per subject;",
        f"  circuits are released when their noisy count reaches {brm.CIRCUIT_THRESHOLD} "
        f"(delta {brm.circuit_delta():.1e} of that).",
    ]
    return lines


def _cells(con: duckdb.DuckDBPyConnection | None) -> dict[str, int]:
    if con is None or not warehouse.has_table(con, "release_ledger"):
        return {}
    rows = con.execute(
        "SELECT measurement, last(cells ORDER BY built_at) FROM release_ledger GROUP BY measurement"
    ).fetchall()
    return {str(name): int(n) for name, n in rows}


def _spent(con: duckdb.DuckDBPyConnection | None) -> float | None:
    if con is None or not warehouse.has_table(con, "release_ledger"):
        return None
    rows = con.execute(
        "SELECT coalesce(sum(rho), 0) FROM release_ledger WHERE built_at > ?::TIMESTAMP - INTERVAL 365 DAY",
        [datetime.now(UTC).replace(tzinfo=None)],
    ).fetchall()
    return float(rows[0][0])
