"""Great-circle distance, cheap enough to call for every candidate pair."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

# geopy's mean Earth radius (geopy.distance.EARTH_RADIUS), so results agree with great_circle.
EARTH_RADIUS_KM = 6371.009


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in km between two (lat, lon) points in degrees."""
    lat1, lon1 = a
    lat2, lon2 = b
    phi1 = radians(lat1)
    phi2 = radians(lat2)
    h = sin((phi2 - phi1) / 2) ** 2 + cos(phi1) * cos(phi2) * sin(radians(lon2 - lon1) / 2) ** 2
    # Rounding can push h a hair above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))
