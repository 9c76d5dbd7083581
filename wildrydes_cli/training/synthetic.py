"""Synthetic Wild Rydes rides joined with NOAA-style weather, labelled by a known model.

Why synthetic: the workshop's data (the ride producer's stream and NOAA's
GHCN-Daily files) is not available offline, and a model trained on data whose
generating process we know can be checked: the trained model must score the
rows as well as the true model does.

What is generated, shaped like the notebook's merged table:

- rides in 2018, each from one of four New York ground stations, with a
  distance of 29-31 and health/magic points around ten times the distance;
- the day's weather at that station in NOAA GHCN-Daily units: TMIN and TMAX in
  tenths of a degree Celsius (seasonal, shared weather systems plus station
  noise), PRCP in tenths of a millimetre (about one day in three is wet);
- ``fieldservice`` drawn from a logistic ground truth that is linear in these
  raw features, so a linear learner can recover it: cold nights, hot days and
  rain raise the risk, healthier and more magical unicorns lower it.

A breed name seeds a perturbation of the ground truth (coefficients and base
rate), so per-breed models really differ; the same breed always gets the same
truth, and the same seed the same rows.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np

from wildrydes_cli.training.data import FEATURES, Dataset

LOG = logging.getLogger(__name__)

YEAR = 2018
DAYS = 365
# NOAA GHCN-Daily station ids of the four New York area ground stations.
STATIONS = (
    ("USW00094728", "NY CITY CENTRAL PARK"),
    ("USW00014732", "LAGUARDIA AIRPORT"),
    ("USW00094789", "JFK INTERNATIONAL AIRPORT"),
    ("USW00014734", "NEWARK LIBERTY INTERNATIONAL AIRPORT"),
)
# Per-station climate offsets in tenths of degC (the park is warmer than the shore airports).
STATION_OFFSETS = np.array([5.0, 0.0, -8.0, 3.0])

# The base ground truth on standardised features: risk per standard deviation.
BASE_CENTER = np.array([30.0, 300.0, 300.0, 80.0, 170.0, 25.0])
BASE_SCALE = np.array([0.58, 33.0, 33.0, 95.0, 100.0, 60.0])
BASE_COEFFICIENTS = np.array([0.35, -0.55, -0.30, -0.80, 0.45, 0.95])
BASE_INTERCEPT = -1.1   # about one ride in four needs field service
BREED_SPREAD = 0.45     # log-normal spread of a breed's coefficients
BREED_SHIFT = 0.5       # spread of a breed's base-rate shift (logit units)


@dataclass(frozen=True)
class GroundTruth:
    """The logistic model that labels synthetic rides, in raw feature units.

    ``probability(features)`` is P(fieldservice = 1); its AUC on a sample is the
    best AUC any model can expect there.
    """

    weights: tuple[float, ...]
    bias: float
    breed: str | None

    def logit(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features, dtype=np.float64) @ np.asarray(self.weights) + self.bias

    def probability(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(features)))


def _breed_seed(breed: str) -> int:
    return int.from_bytes(hashlib.sha256(breed.encode("utf-8")).digest()[:8], "little")


def ground_truth(breed: str | None = None) -> GroundTruth:
    """The generating model for ``breed`` (None: the default, workshop-like unicorns)."""
    coefficients, intercept = BASE_COEFFICIENTS.copy(), BASE_INTERCEPT
    if breed is not None:
        rng = np.random.default_rng(_breed_seed(breed))
        coefficients = coefficients * np.exp(rng.normal(0.0, BREED_SPREAD, size=coefficients.shape))
        intercept += float(rng.normal(0.0, BREED_SHIFT))
    weights = coefficients / BASE_SCALE
    bias = intercept - float(np.sum(weights * BASE_CENTER))
    return GroundTruth(weights=tuple(float(w) for w in weights), bias=float(bias), breed=breed)


def daily_weather(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TMIN, TMAX, PRCP arrays of shape (DAYS, stations), NOAA units (tenths), seasonal."""
    day = np.arange(DAYS)
    # Warmest around 20 July (day 200), coldest late January.
    seasonal_tmax = 165.0 + 125.0 * np.cos(2.0 * np.pi * (day - 200) / DAYS)
    system = rng.normal(0.0, 40.0, size=DAYS)                       # weather systems over the city
    stations = len(STATIONS)
    tmax = (seasonal_tmax + system)[:, None] + STATION_OFFSETS[None, :] + rng.normal(0.0, 10.0, (DAYS, stations))
    spread = np.clip(rng.normal(85.0, 25.0, (DAYS, stations)), 10.0, None)
    tmin = tmax - spread
    wet_day = rng.random(DAYS) < 0.33
    amount = rng.exponential(80.0, size=DAYS)
    local = rng.lognormal(0.0, 0.35, (DAYS, stations)) * (rng.random((DAYS, stations)) < 0.9)
    prcp = (wet_day * amount)[:, None] * local
    return np.rint(tmin), np.rint(tmax), np.rint(prcp)


def generate_rides(rows: int, seed: int = 0, breed: str | None = None) -> Dataset:
    """``rows`` synthetic rides with weather and a ``fieldservice`` label; deterministic in (seed, breed)."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    streams = [seed] if breed is None else [seed, _breed_seed(breed)]
    rng = np.random.default_rng(streams)
    tmin, tmax, prcp = daily_weather(rng)
    day = rng.integers(0, DAYS, size=rows)
    station = rng.integers(0, len(STATIONS), size=rows)
    distance = np.round(rng.uniform(29.0, 31.0, size=rows), 2)
    healthpoints = np.rint(10.0 * distance * rng.normal(1.0, 0.1, size=rows))
    magicpoints = np.rint(10.0 * distance * rng.normal(1.0, 0.1, size=rows))
    features = np.column_stack([distance, healthpoints, magicpoints,
                                tmin[day, station], tmax[day, station], prcp[day, station]])
    truth = ground_truth(breed)
    labels = (rng.random(rows) < truth.probability(features)).astype(np.float64)
    LOG.debug("generated %d synthetic rides (seed %s, breed %s), %.1f%% need service",
              rows, seed, breed, 100.0 * labels.mean())
    label = f"synthetic (seed {seed}" + (f", breed {breed})" if breed else ")")
    assert features.shape[1] == len(FEATURES)
    return Dataset(features=features, labels=labels, source=label)
