"""The corridor graph: the highway layer as a routable network, and where the state is entered.

The layer is whatever :func:`routes.settings.highways_path` points at (the schematic
layer in ``data/reference/`` by default; a real road network as GeoJSON, Shapefile,
GeoPackage or GeoParquet works the same). :func:`highway_graph` turns it into an
undirected :mod:`networkx` graph:

- a node at every vertex of every line; vertices closer than ``snap_km`` are one
  node, so routes that share a town are joined there;
- where two lines cross without sharing a vertex, both are split at the crossing
  and joined there;
- a route that ends short of another route (a dead end within ``join_km`` of a
  node of a different route) is joined to that node by a ``link`` edge, and any
  part still disconnected is joined to the rest by its shortest ``connector``
  edge, so every flow can be routed. Links and connectors are logged;
- each edge is one straight **segment** with ``segment_id`` (stable for a given
  layer), ``route`` (names joined with `` / `` where routes share a segment),
  ``length_km`` (great-circle) and the weight used for shortest paths.

Out-of-state origins enter the map at a border **entry point**
(:data:`ENTRY_POINTS`): each state or country has candidate entry points
(:data:`STATE_ENTRIES`, :data:`COUNTRY_ENTRIES`, first = default). An origin
whose point lies within :data:`ENTRY_NEAR_KM` of one of its candidates enters at
the nearest (Reno → Truckee, Las Vegas → Primm, Mexicali → Calexico); any other
(a state or country centroid, Phoenix, Guadalajara) enters at the default.

=====================  =================================================  ==========================
entry point            used for                                            why
=====================  =================================================  ==========================
``san_ysidro``         Mexico (default), Central and South America,        busiest land crossing, I-5
                       the Caribbean
``otay_mesa``          Mexico (Tijuana east)                               commercial crossing, I-5/805
``calexico``           Mexico (Mexicali)                                   SR-111 to I-8
``primm``              Nevada (default, Las Vegas), Utah, Colorado and     I-15 at the Nevada line
                       the states reached by I-70 (KS, MO, KY, …)
``truckee``            Nevada (Reno, Tahoe), Idaho, Wyoming and the        I-80 at the Nevada line
                       north-east (I-80 corridor to New York)
``needles``            Arizona (Kingman, Lake Havasu), NM, OK, AR, TN, NC  I-40 at the Arizona line
``blythe``             Arizona (default, Phoenix), Texas and the           I-10 at the Arizona line
                       south-east (LA, MS, AL, FL, GA, SC)
``winterhaven``        Arizona (Yuma)                                      I-8 at the Arizona line
``oregon_i5``          Oregon (default), Washington, Alaska, Canada        I-5 at the Oregon line
``oregon_101``         Oregon coast                                        US-101 at the Oregon line
``lax``                every other country, Hawaii, territories            LAX and the Port of LA
=====================  =================================================  ==========================
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from routes import settings
from routes.errors import ConfigError, ReferenceDataError

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088

#: Vertices closer than this are one node (routes meeting in a town).
SNAP_KM = 0.5

#: A route's dead end within this distance of another route is joined to it.
JOIN_KM = 50.0

#: An origin point this close to one of its candidate entry points enters there.
ENTRY_NEAR_KM = 150.0

#: Border entry points: ``entry_id`` → (name, route, lat, lng, county_fips).
ENTRY_POINTS: dict[str, tuple[str, str, float, float, str]] = {
    "san_ysidro": ("San Ysidro port of entry (I-5)", "I-5", 32.5430, -117.0300, "06073"),
    "otay_mesa": ("Otay Mesa port of entry (SR-905)", "SR-905", 32.5500, -116.9380, "06073"),
    "calexico": ("Calexico port of entry (SR-111 to I-8)", "SR-111", 32.6780, -115.4990, "06025"),
    "primm": ("Primm, I-15 at the Nevada line", "I-15", 35.6100, -115.3900, "06071"),
    "truckee": ("Truckee, I-80 at the Nevada line", "I-80", 39.5000, -120.0000, "06057"),
    "needles": ("Needles, I-40 at the Arizona line", "I-40", 34.7100, -114.4900, "06071"),
    "blythe": ("Blythe, I-10 at the Arizona line", "I-10", 33.6100, -114.5400, "06065"),
    "winterhaven": ("Winterhaven, I-8 at the Arizona line (Yuma)", "I-8", 32.7300, -114.6200, "06025"),
    "oregon_i5": ("I-5 at the Oregon line", "I-5", 42.0000, -122.6000, "06093"),
    "oregon_101": ("US-101 at the Oregon line", "US-101", 42.0000, -124.2100, "06015"),
    "lax": ("LAX and the Port of Los Angeles", "I-405", 33.9416, -118.4085, "06037"),
}

_I70_STATES = ("UT", "CO", "KS", "MO", "KY", "WV", "VA", "MD", "DE", "DC")
_I80_STATES = (
    "ID", "WY", "MT", "NE", "IA", "IL", "IN", "OH", "PA", "NJ", "NY", "CT", "RI", "MA",
    "VT", "NH", "ME", "MI", "WI", "MN", "ND", "SD",
)
_I40_STATES = ("NM", "OK", "AR", "TN", "NC")
_I10_STATES = ("TX", "LA", "MS", "AL", "FL", "GA", "SC")

#: US state → candidate entry points (first = default).
STATE_ENTRIES: dict[str, tuple[str, ...]] = {
    "NV": ("primm", "truckee", "needles"),
    "AZ": ("blythe", "winterhaven", "needles"),
    "OR": ("oregon_i5", "oregon_101"),
    "WA": ("oregon_i5",),
    "AK": ("oregon_i5",),
    **{s: ("primm",) for s in _I70_STATES},
    **{s: ("truckee",) for s in _I80_STATES},
    **{s: ("needles",) for s in _I40_STATES},
    **{s: ("blythe",) for s in _I10_STATES},
    **{s: ("lax",) for s in ("HI", "PR", "GU", "VI", "AS", "MP")},
}

_LATIN_AMERICA = (
    "GT", "BZ", "SV", "HN", "NI", "CR", "PA", "CO", "VE", "EC", "PE", "BO", "CL", "AR",
    "UY", "PY", "BR", "GY", "SR", "CU", "DO", "HT", "JM", "TT", "BS", "BB",
)

#: Country (ISO 3166 alpha-2) → candidate entry points; any other country: ``lax``.
COUNTRY_ENTRIES: dict[str, tuple[str, ...]] = {
    "MX": ("san_ysidro", "otay_mesa", "calexico"),
    **{c: ("san_ysidro",) for c in _LATIN_AMERICA},
    "CA": ("oregon_i5",),
}

#: Entry point of a US origin whose state is unknown, and of any other country.
DEFAULT_US_ENTRY = "primm"
DEFAULT_WORLD_ENTRY = "lax"


def entry_points() -> pd.DataFrame:
    """The border entry points: ``entry_id``, ``name``, ``route``, ``lat``, ``lng``, ``county_fips``.

    >>> entry_points().set_index("entry_id").loc["primm", "route"]
    'I-15'
    """
    rows = [(key, *value) for key, value in ENTRY_POINTS.items()]
    return pd.DataFrame(rows, columns=["entry_id", "name", "route", "lat", "lng", "county_fips"])


def outside_key(state: str | None, country: str | None) -> str:
    """The key of an out-of-state origin: ``US-NV`` for a state, ``MX`` for a country.

    >>> outside_key("NV", "US"), outside_key(None, "MX"), outside_key(None, None)
    ('US-NV', 'MX', 'US')
    """
    if not country or country == "US":
        return f"US-{state}" if state else "US"
    return country


def entry_candidates() -> pd.DataFrame:
    """Every (``outside_key``, ``entry_id``) candidate with ``rank`` (0 = default).

    Keys without a row of their own use ``US`` (unknown state) or ``*`` (any
    other country). The flow SQL joins on this table.
    """
    rows: list[tuple[str, str, int]] = []
    for state, entries in STATE_ENTRIES.items():
        rows += [(f"US-{state}", e, i) for i, e in enumerate(entries)]
    for country, entries in COUNTRY_ENTRIES.items():
        rows += [(country, e, i) for i, e in enumerate(entries)]
    rows += [("US", DEFAULT_US_ENTRY, 0), ("*", DEFAULT_WORLD_ENTRY, 0)]
    frame = pd.DataFrame(rows, columns=["outside_key", "entry_id", "rank"])
    return frame.merge(entry_points()[["entry_id", "lat", "lng"]], on="entry_id")


def entry_point_for(
    state: str | None,
    country: str | None,
    *,
    lat: float | None = None,
    lng: float | None = None,
) -> str:
    """The ``entry_id`` where an out-of-state origin enters California.

    >>> entry_point_for("NV", "US", lat=39.53, lng=-119.81)   # Reno
    'truckee'
    >>> entry_point_for("NV", "US", lat=39.3, lng=-116.6)     # Nevada as a whole
    'primm'
    >>> entry_point_for(None, "MX", lat=32.62, lng=-115.45)   # Mexicali
    'calexico'
    >>> entry_point_for(None, "PH")
    'lax'
    """
    key = outside_key(state, country)
    if key.startswith("US-") and key[3:] in STATE_ENTRIES:
        candidates = STATE_ENTRIES[key[3:]]
    elif key in COUNTRY_ENTRIES:
        candidates = COUNTRY_ENTRIES[key]
    else:
        candidates = (DEFAULT_US_ENTRY,) if key.startswith("US") else (DEFAULT_WORLD_ENTRY,)
    if lat is None or lng is None or not (math.isfinite(lat) and math.isfinite(lng)):
        return candidates[0]
    dists = [haversine_km(lat, lng, ENTRY_POINTS[c][2], ENTRY_POINTS[c][3]) for c in candidates]
    best = int(np.argmin(dists))
    return candidates[best] if dists[best] <= ENTRY_NEAR_KM else candidates[0]


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in km between two ``(lat, lng)`` points.

    >>> round(haversine_km(38.58, -121.49, 34.05, -118.24))
    582
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _unit_vectors(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    la, ln = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lng, float))
    return np.column_stack([np.cos(la) * np.cos(ln), np.cos(la) * np.sin(ln), np.sin(la)])


def _chord(km: float) -> float:
    return 2.0 * math.sin(km / (2.0 * EARTH_RADIUS_KM))


_ROUTE_COLUMNS = ("route", "ref", "name", "ROUTE", "REF", "NAME", "FULLNAME", "highway")


def read_highway_layer(path: Path | None = None) -> gpd.GeoDataFrame:
    """Read a highway layer as single line strings in WGS84 with a ``route`` column.

    GeoParquet (``.parquet``, ``.geoparquet``) is read with :func:`geopandas.read_parquet`,
    anything else (GeoJSON, Shapefile, GeoPackage) with :func:`geopandas.read_file`.
    """
    path = path or settings.highways_path()
    if not path.exists():
        raise ReferenceDataError(
            f"highway layer {str(path)!r} does not exist; set ROUTES_HIGHWAYS to a "
            "GeoJSON, Shapefile or GeoParquet of line strings"
        )
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        layer = gpd.read_parquet(path)
    else:
        layer = gpd.read_file(path)
    if layer.crs is not None and layer.crs.to_epsg() != 4326:
        layer = layer.to_crs(4326)
    layer = layer[layer.geometry.notna()].explode(index_parts=False, ignore_index=True)
    layer = layer[layer.geometry.geom_type == "LineString"]
    if layer.empty:
        raise ConfigError(
            f"highway layer {str(path)!r} holds no line strings; give a layer of roads"
        )
    column = next((c for c in _ROUTE_COLUMNS if c in layer.columns), None)
    routes = (
        layer[column].astype("string").fillna("road")
        if column
        else pd.Series([f"road {i}" for i in range(len(layer))], index=layer.index)
    )
    return gpd.GeoDataFrame({"route": routes.to_numpy()}, geometry=layer.geometry.to_numpy(), crs=4326)


def _split_at_crossings(lines: list[np.ndarray]) -> list[np.ndarray]:
    """Insert a vertex where segments of different lines cross without a shared vertex."""
    seg_line, seg_index, starts, ends = [], [], [], []
    for li, coords in enumerate(lines):
        for i in range(len(coords) - 1):
            seg_line.append(li)
            seg_index.append(i)
            starts.append(coords[i])
            ends.append(coords[i + 1])
    if not starts:
        return lines
    segments = shapely.linestrings(np.stack([np.array(starts), np.array(ends)], axis=1))
    tree = shapely.STRtree(segments)
    left, right = tree.query(segments, predicate="intersects")
    extra: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b or (seg_line[a] == seg_line[b] and abs(seg_index[a] - seg_index[b]) <= 1):
            continue
        point = shapely.intersection(segments[a], segments[b])
        if point.geom_type != "Point":
            continue
        xy = (point.x, point.y)
        for s in (a, b):
            ends_of_s = (tuple(starts[s]), tuple(ends[s]))
            if all(math.dist(xy, e) > 1e-9 for e in ends_of_s):
                extra.setdefault((seg_line[s], seg_index[s]), []).append(xy)
    if not extra:
        return lines
    out: list[np.ndarray] = []
    for li, coords in enumerate(lines):
        rebuilt: list[tuple[float, float]] = []
        for i in range(len(coords) - 1):
            start = (float(coords[i][0]), float(coords[i][1]))
            rebuilt.append(start)
            inserted = extra.get((li, i), [])
            rebuilt.extend(sorted(inserted, key=functools.partial(math.dist, start)))
        rebuilt.append((float(coords[-1][0]), float(coords[-1][1])))
        out.append(np.array(rebuilt))
    return out


def _snap_vertices(lng: np.ndarray, lat: np.ndarray, *, snap_km: float) -> np.ndarray:
    """Cluster vertices within ``snap_km``; return the node id (lowest member index) of each."""
    tree = cKDTree(_unit_vectors(lat, lng))
    parent = np.arange(len(lat))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in sorted(tree.query_pairs(_chord(snap_km))):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(len(lat))])


def highway_graph(
    *, path: Path | None = None, snap_km: float = SNAP_KM, join_km: float = JOIN_KM
) -> nx.Graph:
    """Build the routable graph of the highway layer (see the module docstring).

    Nodes are integers with ``lat`` and ``lng``; edges carry ``segment_id``,
    ``route``, ``length_km`` and ``kind`` (``road``, ``link`` or ``connector``).

    >>> g = highway_graph()
    >>> nx.is_connected(g)
    True
    """
    layer = read_highway_layer(path)
    lines = [np.asarray(geom.coords)[:, :2] for geom in layer.geometry]
    lines = _split_at_crossings(lines)
    routes = layer["route"].tolist()
    all_xy = np.concatenate(lines)
    node_of = _snap_vertices(all_xy[:, 0], all_xy[:, 1], snap_km=snap_km)
    graph = nx.Graph()
    offset = 0
    for coords, route in zip(lines, routes, strict=True):
        ids = node_of[offset : offset + len(coords)]
        offset += len(coords)
        for node in ids:
            if node not in graph:
                graph.add_node(int(node), lat=float(all_xy[node, 1]), lng=float(all_xy[node, 0]), routes=set())
            graph.nodes[int(node)]["routes"].add(route)
        for u, v in zip(ids[:-1], ids[1:], strict=True):
            _add_segment(graph, int(u), int(v), route=route, kind="road")
    _join_dead_ends(graph, join_km=join_km)
    _connect_components(graph)
    for number, (u, v) in enumerate(sorted(tuple(sorted(e)) for e in graph.edges)):
        graph.edges[u, v]["segment_id"] = number
    for _, data in graph.nodes(data=True):
        data.pop("routes", None)
    log.info(
        "Built the highway graph from %s: %d nodes, %d segments",
        path or settings.highways_path(), graph.number_of_nodes(), graph.number_of_edges(),
    )
    return graph


def _add_segment(graph: nx.Graph, u: int, v: int, *, route: str, kind: str) -> None:
    if u == v:
        return
    if graph.has_edge(u, v):
        names = set(graph.edges[u, v]["route"].split(" / ")) | {route}
        graph.edges[u, v]["route"] = " / ".join(sorted(names))
        return
    a, b = graph.nodes[u], graph.nodes[v]
    length = haversine_km(a["lat"], a["lng"], b["lat"], b["lng"])
    graph.add_edge(u, v, route=route, kind=kind, length_km=length)


def _join_dead_ends(graph: nx.Graph, *, join_km: float) -> None:
    nodes = list(graph.nodes)
    if len(nodes) < 2 or join_km <= 0:
        return
    lat = np.array([graph.nodes[n]["lat"] for n in nodes])
    lng = np.array([graph.nodes[n]["lng"] for n in nodes])
    tree = cKDTree(_unit_vectors(lat, lng))
    for node in [n for n in nodes if graph.degree(n) == 1]:
        mine = graph.nodes[node]["routes"]
        here = _unit_vectors(np.array([graph.nodes[node]["lat"]]), np.array([graph.nodes[node]["lng"]]))[0]
        candidates = [
            nodes[i] for i in tree.query_ball_point(here, _chord(join_km))
            if not (mine & graph.nodes[nodes[i]]["routes"])
        ]
        if not candidates:
            continue
        best = min(candidates, key=lambda n: _node_km(graph, node, n))
        _add_segment(graph, node, best, route="link", kind="link")
        log.info(
            "Joined the dead end of %s at (%.3f, %.3f) to %s, %.1f km away",
            "/".join(sorted(mine)), graph.nodes[node]["lat"], graph.nodes[node]["lng"],
            "/".join(sorted(graph.nodes[best]["routes"])), _node_km(graph, node, best),
        )


def _node_km(graph: nx.Graph, u: int, v: int) -> float:
    a, b = graph.nodes[u], graph.nodes[v]
    return haversine_km(a["lat"], a["lng"], b["lat"], b["lng"])


def _connect_components(graph: nx.Graph) -> None:
    components = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c)))
    main = set(components[0])
    for component in components[1:]:
        ordered = sorted(main)
        tree = cKDTree(_unit_vectors(
            np.array([graph.nodes[n]["lat"] for n in ordered]),
            np.array([graph.nodes[n]["lng"] for n in ordered]),
        ))
        members = sorted(component)
        dist, index = tree.query(_unit_vectors(
            np.array([graph.nodes[n]["lat"] for n in members]),
            np.array([graph.nodes[n]["lng"] for n in members]),
        ))
        best = int(np.argmin(dist))
        u, v = members[best], ordered[int(index[best])]
        _add_segment(graph, u, v, route="connector", kind="connector")
        log.info("Connected a separate part of the highway layer with a %.1f km connector", _node_km(graph, u, v))
        main |= component


def nearest_nodes(graph: nx.Graph, lat: Sequence[float], lng: Sequence[float]) -> np.ndarray:
    """The nearest graph node (great-circle) of each ``(lat, lng)`` point."""
    cached = graph.graph.get("_nearest")
    if cached is None:
        order = np.array(sorted(graph.nodes))
        vectors = _unit_vectors(
            np.array([graph.nodes[n]["lat"] for n in order]),
            np.array([graph.nodes[n]["lng"] for n in order]),
        )
        cached = graph.graph["_nearest"] = (order, cKDTree(vectors))
    order, tree = cached
    _, index = tree.query(_unit_vectors(np.asarray(lat, float), np.asarray(lng, float)))
    return order[np.asarray(index)]


def nearest_node(graph: nx.Graph, lat: float, lng: float) -> int:
    """The graph node nearest ``(lat, lng)``.

    >>> g = highway_graph()
    >>> n = nearest_node(g, 38.58, -121.49)          # Sacramento
    >>> round(g.nodes[n]["lat"], 2), round(g.nodes[n]["lng"], 2)
    (38.58, -121.49)
    """
    return int(nearest_nodes(graph, [lat], [lng])[0])


def shortest_path_segments(
    graph: nx.Graph, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], list[int]]:
    """The ``segment_id``s along the shortest path (by ``length_km``) of each node pair.

    One Dijkstra per distinct origin node serves every pair that starts there.
    """
    by_origin: dict[int, set[int]] = {}
    for u, v in pairs:
        by_origin.setdefault(int(u), set()).add(int(v))
    out: dict[tuple[int, int], list[int]] = {}
    for origin, targets in sorted(by_origin.items()):
        paths = nx.single_source_dijkstra_path(graph, origin, weight="length_km")
        for target in sorted(targets):
            nodes = paths.get(target)
            if nodes is None:
                raise ConfigError(f"no highway path from node {origin!r} to {target!r}")
            out[(origin, target)] = [
                graph.edges[a, b]["segment_id"] for a, b in zip(nodes[:-1], nodes[1:], strict=True)
            ]
    return out


def segments_frame(graph: nx.Graph) -> pd.DataFrame:
    """One row per segment: ``segment_id``, ``route``, ``kind``, ``length_km``,
    ``from_lat``, ``from_lng``, ``to_lat``, ``to_lng``, ``wkt`` (a WKT ``LINESTRING`` in lng lat order)."""
    rows = []
    for u, v, data in graph.edges(data=True):
        a, b = graph.nodes[u], graph.nodes[v]
        if (a["lat"], a["lng"]) > (b["lat"], b["lng"]):
            a, b = b, a
        rows.append((
            data["segment_id"], data["route"], data["kind"], data["length_km"],
            a["lat"], a["lng"], b["lat"], b["lng"],
            f"LINESTRING ({a['lng']:.6f} {a['lat']:.6f}, {b['lng']:.6f} {b['lat']:.6f})",
        ))
    columns = ["segment_id", "route", "kind", "length_km", "from_lat", "from_lng", "to_lat", "to_lng", "wkt"]
    return pd.DataFrame(rows, columns=columns).sort_values("segment_id", ignore_index=True)
