"""Map names by zoom band (:mod:`maps.labels`): none overlap at a band, larger places win."""

from __future__ import annotations

import itertools

import pytest

from maps import labels as M

#: The Los Angeles basin, as a map zoomed into it shows it (west, south, east, north).
LA_BASIN = (-118.75, 33.6, -117.6, 34.35)


def _boxes(band: int, *, bounds: tuple[float, float, float, float] | None = None) -> list[tuple[str, tuple[float, ...]]]:
    out = []
    for label in M.labels_at_band(band):
        if bounds and not (bounds[0] <= label.lng <= bounds[2] and bounds[1] <= label.lat <= bounds[3]):
            continue
        x, y = M.world_px(label.lng, label.lat, band)
        w, h = M.label_box_px(label.text, label.bands[band])
        out.append((label.text, (x - w / 2, y - h / 2, x + w / 2, y + h / 2)))
    return out


def _overlaps(a: tuple[float, ...], b: tuple[float, ...], *, scale: float = 1.0) -> bool:
    """Whether two boxes overlap once the map is ``scale`` times larger (fonts stay the same size)."""
    def grown(box: tuple[float, ...]) -> tuple[float, ...]:
        cx, cy, hw, hh = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
        return cx * scale - hw, cy * scale - hh, cx * scale + hw, cy * scale + hh
    a, b = grown(a), grown(b)
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("band", M.ZOOM_BANDS)
def test_no_two_names_of_a_band_overlap_in_the_los_angeles_basin(band: int) -> None:
    boxes = _boxes(band, bounds=LA_BASIN)
    assert boxes or band < 6  # the basin is named from zoom 6
    for scale in (1.0, 1.41, 1.99):  # anywhere in the band: the map grows, the type does not
        clashes = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if _overlaps(ba, bb, scale=scale)]
        assert clashes == [], clashes[:5]


def test_no_two_names_of_a_band_overlap_anywhere() -> None:
    for band in M.ZOOM_BANDS:
        boxes = sorted(_boxes(band), key=lambda tb: tb[1][0])
        for i, (a, ba) in enumerate(boxes):
            for b, bb in boxes[i + 1:]:
                if bb[0] >= ba[2]:
                    break
                assert not _overlaps(ba, bb), (band, a, b)


def test_larger_places_win_and_appear_first() -> None:
    rows = {label.text: label for label in M.label_rows() if label.kind == "place"}
    la = rows["Los Angeles"]
    assert min(la.bands) == M.ZOOM_BANDS[0] and set(la.bands) == set(M.ZOOM_BANDS)  # never displaced
    statewide = [label.text for label in M.labels_at_band(4)]
    assert statewide[:3] == ["Los Angeles", "San Diego", "San Jose"]
    for small, big in (("Glendale", "Los Angeles"), ("Pasadena", "Los Angeles"), ("Santa Monica", "Los Angeles")):
        assert min(rows[small].bands) > min(rows[big].bands)
    # each band names more of the basin than the one before, as the map makes room
    counts = [len(_boxes(band, bounds=LA_BASIN)) for band in M.ZOOM_BANDS]
    assert counts == sorted(counts) and counts[-1] > 40, counts


def test_counties_and_highways_are_named() -> None:
    kinds = {label.kind for label in M.labels_at_band(8)}
    assert kinds == {"place", "county", "highway"}
    assert "LOS ANGELES" in {label.text for label in M.labels_at_band(7, kinds=("county",))}
    assert {"I-5", "US-101"} <= {label.text for label in M.label_rows() if label.kind == "highway"}


def test_the_synchronised_maps_count_bands_from_the_same_first_band() -> None:
    from pathlib import Path

    script = (Path(__file__).resolve().parents[1] / "ui" / "deck_map_frontend" / "deck_map.js").read_text(encoding="utf-8")
    assert f"const LABEL_FIRST_BAND = {M.ZOOM_BANDS[0]};" in script


@pytest.mark.parametrize("start", [6.6, 8.3, 10.2])
def test_names_drawn_by_deck_gl_never_overlap_zooming_out_or_in(start: float) -> None:
    """``st.pydeck_chart`` draws the starting band's names sized in metres (capped in pixels):
    at the start and at any zoom out or in from it, no two overlap in the Los Angeles basin."""
    from maps import layers

    rows = []
    for kind in ("county", "place", "highway"):
        layer = layers.label_layer(kind, zoom=start)
        rows += [(row, layer.size_max_pixels) for row in layer.data if row["s"]]
    assert rows
    for zoom in (start - 2, start - 0.5, start, start + 0.7, start + 2.5):
        boxes = []
        for row, cap in rows:
            lng, lat = row["position"]
            if not (LA_BASIN[0] <= lng <= LA_BASIN[2] and LA_BASIN[1] <= lat <= LA_BASIN[3]):
                continue
            px = min(row["s"] / M.metres_per_pixel(zoom, lat), cap)
            x, y = M.world_px(lng, lat, zoom)
            w, h = M.label_box_px(row["label"], px)
            w, h = w - 2 * M.MARGIN_PX, h - 2 * M.MARGIN_PX  # the glyphs, without the air around them
            boxes.append((row["label"], (x - w / 2, y - h / 2, x + w / 2, y + h / 2)))
        clashes = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if _overlaps(ba, bb)]
        assert clashes == [], (start, zoom, clashes[:5])
