"""Calendar features from timestamps, as Informer's ``timefeatures`` scales them.

Four columns, each in [-0.5, 0.5]: month ``(m-1)/11``, day of month ``(d-1)/30``,
weekday ``w/6`` and hour ``h/23``, each minus 0.5 (the order of Informer's month/day/weekday/hour).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIME_FEATURES = ("month", "day", "weekday", "hour")


def time_features(timestamps: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """``[T, 4]`` float32 features for ``T`` timestamps."""
    ts = pd.DatetimeIndex(timestamps)
    columns = [
        (ts.month.to_numpy() - 1) / 11.0 - 0.5,
        (ts.day.to_numpy() - 1) / 30.0 - 0.5,
        ts.day_of_week.to_numpy() / 6.0 - 0.5,
        ts.hour.to_numpy() / 23.0 - 0.5,
    ]
    return np.stack(columns, axis=1).astype(np.float32)
