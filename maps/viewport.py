"""A map's viewport (centre and zoom) as the short text a shared link carries.

``view=-118.24370,34.05220,9.50`` is longitude, latitude and zoom, in that
order (deck.gl's order, as in the URL of most web maps), rounded so that the
text is short and a view sent to the browser and back compares equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Bounds a viewport must lie in: web mercator latitudes, deck.gl's zoom range.
MAX_LATITUDE = 85.05
MAX_ZOOM = 20.0


@dataclass(frozen=True)
class MapView:
    """Where a map looks: ``longitude`` and ``latitude`` of its centre, ``zoom`` (deck.gl levels)."""

    longitude: float
    latitude: float
    zoom: float

    def to_param(self) -> str:
        """The view as ``"lng,lat,zoom"`` (5 decimals for degrees, about a metre; 2 for zoom).

        >>> MapView(-118.2437, 34.0522, 9.5).to_param()
        '-118.24370,34.05220,9.50'
        """
        return f"{self.longitude:.5f},{self.latitude:.5f},{self.zoom:.2f}"

    def to_dict(self) -> dict[str, float]:
        """``{"longitude", "latitude", "zoom"}``, rounded as in :meth:`to_param`."""
        lng, lat, zoom = (float(part) for part in self.to_param().split(","))
        return {"longitude": lng, "latitude": lat, "zoom": zoom}


def view_from_param(text: str | None) -> MapView | None:
    """The :class:`MapView` a ``view=lng,lat,zoom`` parameter names (None when there is none).

    >>> view_from_param("-118.24370,34.05220,9.50")
    MapView(longitude=-118.2437, latitude=34.0522, zoom=9.5)
    >>> view_from_param(None) is None
    True
    >>> view_from_param("34.05,-118.24")
    Traceback (most recent call last):
    ...
    ValueError: map view '34.05,-118.24' is not 'longitude,latitude,zoom' (for example '-118.24370,34.05220,9.50'): open the link without its view= part to start from the default view
    """
    if text is None or not str(text).strip():
        return None
    parts = str(text).split(",")
    advice = (
        f"map view {text!r} is not 'longitude,latitude,zoom' (for example '-118.24370,34.05220,9.50'): "
        "open the link without its view= part to start from the default view"
    )
    try:
        lng, lat, zoom = (float(part) for part in parts)
    except ValueError:
        raise ValueError(advice) from None
    if not all(math.isfinite(v) for v in (lng, lat, zoom)) or not (
        -180 <= lng <= 180 and -MAX_LATITUDE <= lat <= MAX_LATITUDE and 0 <= zoom <= MAX_ZOOM
    ):
        raise ValueError(advice.replace("is not", "is outside the map (longitude -180..180, latitude -85..85, "
                                        "zoom 0..20) or not"))
    return MapView(lng, lat, zoom)


def view_from_dict(value: object) -> MapView | None:
    """The :class:`MapView` in a ``{"longitude", "latitude", "zoom"}`` mapping (as deck.gl reports it), else None.

    >>> view_from_dict({"longitude": -120.5, "latitude": 37.0, "zoom": 6})
    MapView(longitude=-120.5, latitude=37.0, zoom=6.0)
    >>> view_from_dict({"zoom": 6}) is None
    True
    """
    if not isinstance(value, dict):
        return None
    try:
        return view_from_param(f"{float(value['longitude'])},{float(value['latitude'])},{float(value['zoom'])}")
    except (KeyError, TypeError, ValueError):
        return None


__all__ = ["MapView", "view_from_dict", "view_from_param"]
