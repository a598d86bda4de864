"""Ingests and uploads in the audit log, and the per-user limit on uploads that match.

An uploaded file whose identifiers match another agency's records raises
deconfliction matches that show that agency's case number and contact, so a file
of guessed phone numbers is a lookup. Every ingest is logged (``ingest``: file
name, source, SHA-256, never content); every upload too (``upload``), with how
many of its identifiers and how many of other agencies' cases it matched; and a
user may make at most :func:`routes.settings.upload_match_limit`
(``ROUTES_UPLOAD_MATCH_LIMIT``, default 10) matching uploads in any
:data:`UPLOAD_WINDOW`: the next is refused before anything is read, and logged
(``upload_refused``).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from query import audit
from query.viewer import Viewer
from routes import settings, warehouse
from routes.errors import AccessDenied

if TYPE_CHECKING:
    from pipelines.ingest import BatchSummary

#: The rolling window :func:`routes.settings.upload_match_limit` counts in.
UPLOAD_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Matches:
    """What a batch's identifiers matched in other sources' records."""

    identifiers: int
    cases: int


def cli_actor() -> Viewer:
    """Who a command-line ingest acts as: ``cli:<os user>``, admin (they hold the machine)."""
    return Viewer(user=f"cli:{getpass.getuser()}", role="admin")


def check_upload_quota(viewer: Viewer, *, file_name: str, source_id: str, now: datetime | None = None) -> None:
    """Refuse (and log) an upload by a user who used up their matching uploads.

    Raises
    ------
    AccessDenied
        Naming the limit, the window and the setting.
    """
    limit = settings.upload_match_limit()
    since = (now or datetime.now(UTC)) - UPLOAD_WINDOW
    used = audit.count_events(user=viewer.user, action="upload", since=since, matching="matched_cases")
    if used < limit:
        return
    audit.record_event(
        viewer, action="upload_refused",
        what=f"{file_name!r} for source {source_id!r}: {used} uploads matching other agencies "
             f"within {UPLOAD_WINDOW} (limit ROUTES_UPLOAD_MATCH_LIMIT={limit})",
    )
    raise AccessDenied(
        f"{viewer.user!r} has made {used} uploads that matched other agencies' records within the "
        f"last 24 hours, the most allowed (ROUTES_UPLOAD_MATCH_LIMIT={limit}); try again later or "
        "ask an admin to load the file with `python -m pipelines ingest`"
    )


def batch_matches(batch_id: str, *, source_id: str, warehouse_path: Path | None = None) -> Matches:
    """How many identifiers of ``batch_id``'s records, and how many other sources' cases, match."""
    with warehouse.open_snapshot(path=warehouse_path) as con:
        row = con.execute(
            """
            WITH mine AS (
                SELECT DISTINCT i.kind, i.token FROM record_identifiers i
                JOIN records r USING (source_id, record_id)
                WHERE r.source_id = ? AND r.batch_id = ?
            )
            SELECT count(DISTINCT (o.kind, o.token)),
                   count(DISTINCT (o.source_id, coalesce(r.case_number, o.record_id)))
            FROM mine JOIN record_identifiers o USING (kind, token)
            LEFT JOIN records r ON r.source_id = o.source_id AND r.record_id = o.record_id
            WHERE o.source_id <> ?
            """,
            [source_id, batch_id, source_id],
        ).fetchone()
    return Matches(identifiers=int(row[0]), cases=int(row[1])) if row else Matches(0, 0)


def record_ingest(viewer: Viewer, summary: BatchSummary, *, action: str = "ingest",
                  matches: Matches | None = None) -> None:
    """Log one ingested or uploaded file: name, source, SHA-256 and counts (never content)."""
    details: dict[str, object] = {
        "source_id": summary.source_id, "batch_id": summary.batch_id,
        "file_sha256": summary.file_sha256, "rows_read": summary.rows_read,
        "loaded": summary.loaded, "updated": summary.updated,
    }
    what = (f"{summary.file_name!r} for source {summary.source_id!r} (SHA-256 {summary.file_sha256}): "
            f"{summary.rows_read} rows read, {summary.loaded} loaded, {summary.updated} updated")
    if matches is not None:
        details.update(matched_identifiers=matches.identifiers, matched_cases=matches.cases)
        what += (f"; {matches.identifiers} identifiers matched {matches.cases} cases of other agencies")
    audit.record_event(viewer, action=action, what=what, filters=details)
