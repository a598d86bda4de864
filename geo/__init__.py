"""Places and the grid: reference data, the geocoder, H3 helpers, the highway graph."""
