"""Regional briefing exports: PDF, PNG map, offline HTML map, CSV tables, GeoJSON layers.

:func:`export_briefing` is the one entry point (the Region page and
``python -m pipelines brief`` call it). It

1. checks that the exporter may export this place (:func:`check_exporter`);
2. reads everything through the query layer as the **audience**
   (:func:`briefings.audiences.audience_viewer`), never as the exporter, so a
   briefing holds only what its audience may see: aggregates, every count under
   k hidden;
3. writes the files into a hidden folder inside ``out_dir`` (with ``pack=True``
   also one zip of them all, the "briefing pack"), records the dissemination in
   the audit log (who, to whom, why, what: one entry for every file), and only
   then moves the files into ``out_dir``: no briefing leaves without its audit entry.

Who may export
--------------
By capability (:mod:`query.policy`): ``export_any_place`` (``admin``,
``leadership``) may export any region or county; ``export_own_region`` (a
``lead``) their own area: a county of their task force, or a Cal OES Mutual Aid
Region that contains one of their task force's counties. Everyone else
(``analyst``, ``partner``) gets :class:`routes.errors.AccessDenied`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from briefings import _collect, pdf, static_map, tables
from briefings.audiences import Audience, audience_viewer, get_audience
from geo import reference
from query import audit
from query.filters import Filters
from query.policy import Capability
from query.viewer import Viewer
from routes.errors import AccessDenied

__all__ = ["BriefingFiles", "check_exporter", "export_briefing"]

@dataclass(frozen=True)
class BriefingFiles:
    """What :func:`export_briefing` wrote."""

    pdf: Path
    png: Path
    html: Path | None
    csv: dict[str, Path]
    geojson: Path
    audit_seq: int
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    pack: Path | None = None

    @property
    def paths(self) -> list[Path]:
        """Every single file written, PDF first (the pack, which holds them all, is :attr:`pack`)."""
        out = [self.pdf, self.png, *([self.html] if self.html else []), *self.csv.values(), self.geojson]
        return out


def check_exporter(exporter: Viewer, place: _collect.Place) -> None:
    """Raise :class:`AccessDenied` unless ``exporter`` may export ``place`` (see the module docstring)."""
    if exporter.can(Capability.EXPORT_ANY_PLACE):
        return
    if not exporter.can(Capability.EXPORT_OWN_REGION):
        raise AccessDenied(
            f"role {exporter.role!r} may not export briefings; ask your task-force lead, "
            "leadership or an admin"
        )
    dims = reference.county_dimensions()
    own = set(dims.loc[dims["task_force"] == exporter.task_force, "county_fips"])
    if not own & set(place.counties):
        raise AccessDenied(
            f"lead of task force {exporter.task_force!r} may not export {place.name!r}: it holds none "
            "of the task force's counties; choose your own county or region, or ask leadership"
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _month(value: date | str, *, name: str) -> date:
    if isinstance(value, date):
        return value.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(value).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"{name} must be a month as YYYY-MM, not {value!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def export_briefing(
    viewer: Viewer,
    *,
    region: str | None = None,
    county: str | None = None,
    start: date | str,
    end: date | str,
    audience: str | Audience,
    purpose: str,
    out_dir: Path | str,
    html: bool = True,
    pack: bool = False,
) -> BriefingFiles:
    """Export a briefing of one region or county over ``start``..``end`` for ``audience``.

    Parameters
    ----------
    viewer
        The exporter (written to the audit log); see the module docstring for who may.
    region, county
        Exactly one: a Cal OES Mutual Aid Region (``"Region IV"``) or a county FIPS code.
    start, end
        The period's first and last months (``date`` or ``"YYYY-MM"``), inclusive.
    audience
        An audience name of :mod:`briefings.audiences` (``partner``, ``law_enforcement``,
        ``prosecutors``, ``caloes``) or an :class:`Audience`.
    purpose
        Why the briefing is given (printed on it and written to the audit log).
    out_dir
        The folder to write into (created when missing).
    html
        Also write the interactive offline HTML map.
    pack
        Also write ``<stem>_pack.zip`` holding every other file (the same
        dissemination: one audit entry names them all, the zip included).

    Returns
    -------
    BriefingFiles
        The paths written and the audit entry's sequence number.

    Raises
    ------
    AccessDenied
        The exporter may not export this place.
    ValueError
        A bad place, period, or an empty purpose.
    query.suppression.FilterIsolationError
        The period would isolate a small count (choose whole months with more data).
    """
    started = time.perf_counter()
    chosen = audience if isinstance(audience, Audience) else get_audience(audience)
    if not purpose or not purpose.strip():
        raise ValueError("a briefing needs a purpose (why it is given), for the audit log; pass purpose=")
    place = _collect.resolve_place(region=region, county=county)
    check_exporter(viewer, place)
    first, last = _month(start, name="start"), _month(end, name="end")
    reader = audience_viewer(chosen, exporter=viewer)
    data = _collect.collect(reader, place, start=first, end=last)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"briefing_{_slug(place.key)}_{first:%Y-%m}_{last:%Y-%m}_{_slug(chosen.name)}"
    work = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=out))
    try:
        written = _write_all(data, chosen, work=work, stem=stem, purpose=purpose.strip(),
                             prepared_by=f"{viewer.user} ({viewer.role})", html=html)
        if pack:
            written["pack"] = _write_pack(list(written.values()), work / f"{stem}_pack.zip")
        what = (
            f"briefing of {place.name} ({place.kind} {place.key}), {first:%Y-%m} to {last:%Y-%m}, "
            f"read as role {reader.role}: " + ", ".join(p.name for p in written.values())
        )
        seq = audit.record_event(
            viewer, action="export", what=what,
            filters=Filters(start=first, end=last, counties=place.counties),
            purpose=purpose.strip(), audience=chosen.name,
        )
        final = {key: out / path.name for key, path in written.items()}
        for key, path in written.items():
            os.replace(path, final[key])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BriefingFiles(
        pdf=final["pdf"], png=final["png"], html=final.get("html"),
        csv={k.removeprefix("csv:"): v for k, v in final.items() if k.startswith("csv:")},
        geojson=final["geojson"], audit_seq=seq, seconds=round(time.perf_counter() - started, 2),
        notes=tuple(data.notes), pack=final.get("pack"),
    )


def _write_pack(paths: list[Path], path: Path) -> Path:
    """One zip of ``paths`` (flat, by file name), deflated; written whole or not at all."""
    partial = path.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in paths:
            archive.write(member, arcname=member.name)
    os.replace(partial, path)
    return path


def _write_all(
    data: _collect.BriefingData, audience: Audience, *, work: Path, stem: str, purpose: str,
    prepared_by: str, html: bool,
) -> dict[str, Path]:
    created = datetime.now(UTC)
    written: dict[str, Path] = {}
    written["png"] = static_map.draw_map(data, work / f"{stem}_map.png")
    written["pdf"] = pdf.build_pdf(
        data, audience=audience, map_png=written["png"], path=work / f"{stem}.pdf",
        purpose=purpose, prepared_by=prepared_by, created_at=created,
    )
    frames = {
        "headline": data.headline, "counties": data.counties,
        "corridors": _collect.top_corridors(data.corridors, n=len(data.corridors)),
        "flows": data.flows, "coordination_pairs": data.pairs, "cells": data.cells,
        "circuits": _collect.circuits_csv(data.circuits),
    }
    for name, path in tables.write_tables(frames, work, stem=stem).items():
        written[f"csv:{name}"] = path
    metadata = {
        "place": data.place.name, "period": f"{data.start:%Y-%m}/{data.end:%Y-%m}",
        "audience": audience.name, "marking": audience.marking_text(k=data.k), "k": data.k,
        "data_as_of": data.data_as_of.isoformat() if data.data_as_of else None,
    }
    written["geojson"] = tables.write_geojson(static_map.layer_shapes(data), work / f"{stem}_layers.geojson",
                                              metadata=metadata)
    if html:
        from briefings import html as html_export

        written["html"] = html_export.write_html(data, audience=audience, path=work / f"{stem}.html",
                                                 purpose=purpose)
    return written
