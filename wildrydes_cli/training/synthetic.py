"""Synthetic Wild Rydes rides shaped like the workshop's data, labelled by the workshop's rule.

Why synthetic: the workshop's data (the ride producer's stream and NOAA's
GHCN-Daily files) is not available offline. The rides here follow what the
workshop publishes (aws-samples/aws-serverless-workshops, MachineLearning):

- ``distance`` uniform in 29-31 (miles), ``healthpoints`` and ``magicpoints``
  uniform integers in 0-10,000;
- a ride date in 2010-2019 and one of the four New York ground stations the
  workshop joins rides to (US1NYNY0074, USW00014732, USW00094728,
  USW00094789), with that day's weather at that station in NOAA GHCN-Daily
  units: TMIN and TMAX in tenths of a degree Celsius (seasonal, shared weather
  systems plus station noise), PRCP in tenths of a millimetre (about one day
  in three is wet);
- the label ``heavy_utilization``, the workshop's own rule from its
  data-processing function, exactly::

      heavy_utilization = magicpoints >= 50 * distance

Breeds (``--breed NAME``): the workshop's rule is the baseline, but a breed's
*usual magic per mile* responds to the weather with its own sensitivities
(the reason for one model per breed)::

      usual magic per mile = 50 + temperature * (TMAX - 200) / 100 + rain * PRCP / 100
      heavy_utilization    = magicpoints >= distance * usual magic per mile

``temperature`` is the breed's extra magic per mile per 10 degC of TMAX above
20 degC, ``rain`` its extra magic per mile per 10 mm of rain. Both are drawn
from sha256(name) (not Python's salted ``hash``), so a breed always gets the
same sensitivities on any machine: a sign (+ or -) and a size of 5-15 magic
per mile each. On a mild dry day (TMAX 200, PRCP 0) every breed follows the
workshop's rule; in the rain and heat they disagree. A breed model trained on
these rides should learn a weight on TMAX of sign ``-temperature`` and on PRCP
of sign ``-rain`` (more usual magic per mile makes a ride less *heavy*).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

import numpy as np

from wildrydes_cli.training.data import FEATURES, Dataset

LOG = logging.getLogger(__name__)

FIRST_YEAR, LAST_YEAR = 2010, 2019
START = date(FIRST_YEAR, 1, 1)
DAYS = (date(LAST_YEAR, 12, 31) - START).days + 1   # 3,652 days of weather
YEAR_DAYS = 365.25
# The four NOAA GHCN-Daily stations the workshop joins rides to (nearest ground station).
STATIONS = (
    ("US1NYNY0074", "NEW YORK 8.8 N (COCORAHS)"),
    ("USW00014732", "LAGUARDIA AIRPORT"),
    ("USW00094728", "NY CITY CENTRAL PARK"),
    ("USW00094789", "JFK INTERNATIONAL AIRPORT"),
)
# Per-station climate offsets in tenths of degC (Manhattan is warmer than the shore airports).
STATION_OFFSETS = np.array([4.0, 0.0, 5.0, -8.0])

DISTANCE_RANGE = (29.0, 31.0)
POINTS_MAX = 10_000
MAGIC_PER_MILE = 50.0          # the workshop's rule: heavy when magicpoints >= 50 * distance
MILD_TMAX = 200.0              # 20 degC: a breed's temperature sensitivity is zero here
SENSITIVITY_RANGE = (5.0, 15.0)  # magic per mile per 10 degC / per 10 mm, each with a random sign
LABEL_CHUNK = 1_000_000


@dataclass(frozen=True)
class GroundTruth:
    """The rule that labels synthetic rides (see the module docstring).

    ``temperature`` and ``rain`` are 0 for the default (workshop) rides.
    """

    temperature: float
    rain: float
    breed: str | None

    def magic_per_mile(self, features: np.ndarray) -> np.ndarray:
        """The breed's usual magic per mile in each ride's weather."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        tmax, prcp = x[:, FEATURES.index("TMAX")], x[:, FEATURES.index("PRCP")]
        if self.temperature == 0.0 and self.rain == 0.0:
            return np.full(x.shape[0], MAGIC_PER_MILE)
        return MAGIC_PER_MILE + self.temperature * (tmax - MILD_TMAX) / 100.0 + self.rain * prcp / 100.0

    def margin(self, features: np.ndarray) -> np.ndarray:
        """Magic points above (positive) or below the breed's usual use for the ride."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        distance, magic = x[:, FEATURES.index("distance")], x[:, FEATURES.index("magicpoints")]
        return magic - distance * self.magic_per_mile(x)

    def labels(self, features: np.ndarray) -> np.ndarray:
        """``heavy_utilization`` (0.0 or 1.0) of each ride, exactly the rule."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        distance, magic = x[:, FEATURES.index("distance")], x[:, FEATURES.index("magicpoints")]
        if self.temperature == 0.0 and self.rain == 0.0:
            return (magic >= MAGIC_PER_MILE * distance).astype(np.float64)   # the workshop's expression
        return (magic >= distance * self.magic_per_mile(x)).astype(np.float64)


def _breed_seed(breed: str) -> int:
    return int.from_bytes(hashlib.sha256(breed.encode("utf-8")).digest()[:8], "little")


def ground_truth(breed: str | None = None) -> GroundTruth:
    """The labelling rule for ``breed`` (None: the workshop's rule)."""
    if breed is None:
        return GroundTruth(temperature=0.0, rain=0.0, breed=None)
    rng = np.random.default_rng(_breed_seed(breed))
    low, high = SENSITIVITY_RANGE
    signs = rng.choice([-1.0, 1.0], size=2)
    sizes = np.round(rng.uniform(low, high, size=2), 2)
    return GroundTruth(temperature=float(signs[0] * sizes[0]), rain=float(signs[1] * sizes[1]), breed=breed)


def daily_weather(rng: np.random.Generator, days: int = DAYS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TMIN, TMAX, PRCP arrays of shape (days, stations) from 1 January, NOAA units (tenths), seasonal."""
    day = np.arange(days)
    # Warmest around 20 July (day 200 of the year), coldest late January.
    seasonal_tmax = 165.0 + 125.0 * np.cos(2.0 * np.pi * (day % YEAR_DAYS - 200) / YEAR_DAYS)
    system = rng.normal(0.0, 40.0, size=days)                       # weather systems over the city
    stations = len(STATIONS)
    tmax = (seasonal_tmax + system)[:, None] + STATION_OFFSETS[None, :] + rng.normal(0.0, 10.0, (days, stations))
    spread = np.clip(rng.normal(85.0, 25.0, (days, stations)), 10.0, None)
    tmin = tmax - spread
    wet_day = rng.random(days) < 0.33
    amount = rng.exponential(80.0, size=days)
    local = rng.lognormal(0.0, 0.35, (days, stations)) * (rng.random((days, stations)) < 0.9)
    prcp = (wet_day * amount)[:, None] * local
    return np.rint(tmin), np.rint(tmax), np.rint(prcp)


def generate_rides(rows: int, seed: int = 0, breed: str | None = None) -> Dataset:
    """``rows`` workshop-like rides with weather and ``heavy_utilization``; deterministic in (seed, breed)."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    streams = [seed] if breed is None else [seed, _breed_seed(breed)]
    rng = np.random.default_rng(streams)
    tmin, tmax, prcp = daily_weather(rng)
    day = rng.integers(0, DAYS, size=rows)
    station = rng.integers(0, len(STATIONS), size=rows)
    # float32 columns, filled one at a time: 10M rides hold 240 MB, not twice that in float64.
    features = np.empty((rows, len(FEATURES)), dtype=np.float32)
    features[:, 0] = np.round(rng.uniform(*DISTANCE_RANGE, size=rows), 2)
    features[:, 1] = rng.integers(0, POINTS_MAX + 1, size=rows)
    features[:, 2] = rng.integers(0, POINTS_MAX + 1, size=rows)
    features[:, 3] = tmin[day, station]
    features[:, 4] = tmax[day, station]
    features[:, 5] = prcp[day, station]
    del day, station
    # Labelled from the stored (float32) values, a million rides at a time: the rule and the
    # features a model sees always agree.
    truth = ground_truth(breed)
    labels = np.empty(rows, dtype=np.float32)
    for start in range(0, rows, LABEL_CHUNK):
        labels[start:start + LABEL_CHUNK] = truth.labels(features[start:start + LABEL_CHUNK])
    LOG.debug("generated %d synthetic rides (seed %s, breed %s), %.1f%% heavy magic use",
              rows, seed, breed, 100.0 * labels.mean())
    label = f"synthetic (seed {seed}" + (f", breed {breed})" if breed else ")")
    assert features.shape[1] == len(FEATURES)
    return Dataset(features=features, labels=labels, source=label)
