"""The synthetic weather behind `wildrydes train`: 2010-2019 at the workshop's four New York stations, NOAA units."""
from __future__ import annotations

import numpy as np

from wildrydes_cli.training import synthetic


def test_weather_is_ten_years_at_the_workshops_four_new_york_stations():
    tmin, tmax, prcp = synthetic.daily_weather(np.random.default_rng(0))
    # one row a day for the workshop's ten years, one column per station
    assert tmin.shape == tmax.shape == prcp.shape == (synthetic.DAYS, len(synthetic.STATIONS)) == (3652, 4)


def test_weather_is_seasonal_in_tenths_of_a_degree_and_a_millimetre():
    tmin, tmax, prcp = synthetic.daily_weather(np.random.default_rng(1))
    assert (tmin <= tmax).all()
    january, july = slice(0, 31), slice(181, 212)
    # New York: July days around 29 degC (290 tenths), January days near 4 degC.
    assert 240 < tmax[july].mean() < 340
    assert -40 < tmax[january].mean() < 100
    assert tmax[july].mean() - tmax[january].mean() > 150
    assert (prcp >= 0).all()
    wet = (prcp > 0).mean()
    assert 0.2 < wet < 0.5


def test_stations_differ_as_their_climate_offsets_say():
    tmin, tmax, _ = synthetic.daily_weather(np.random.default_rng(2))
    park, jfk = 2, 3   # the park is warmer than the shore airport
    assert tmax[:, park].mean() > tmax[:, jfk].mean()
