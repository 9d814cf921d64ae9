"""Great-circle geometry on numpy arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_KM", "chord_for_km", "haversine_km", "unit_vectors"]

F64 = npt.NDArray[np.float64]

#: Mean earth radius (IUGG), the radius the eligibility rule is defined with.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    """Great-circle distance in km between points given in degrees (element-wise).

    >>> float(haversine_km(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))[0])
    111.1950802335329
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64)


def unit_vectors(lat: F64, lon: F64) -> F64:
    """Points on the unit sphere, shape ``(n, 3)``, for Euclidean (chord) spatial indexing."""
    p, lmb = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(p) * np.cos(lmb), np.cos(p) * np.sin(lmb), np.sin(p)])


def chord_for_km(km: float) -> float:
    """Chord length on the unit sphere spanned by a great-circle arc of ``km``."""
    return float(chords_for_km(np.array([km]))[0])


def chords_for_km(km: F64) -> F64:
    """:func:`chord_for_km` of each of ``km``."""
    return 2.0 * np.sin(np.minimum(km / EARTH_RADIUS_KM, np.pi) / 2.0)
