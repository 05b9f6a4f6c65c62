import math

import pytest

from rnnexp.report.stats import mean_interval


def test_t_interval_of_three_seeds():
    iv = mean_interval([0.70, 0.72, 0.74])
    # sd 0.02, sem 0.02/sqrt(3), t(0.975, 2) = 4.303
    assert iv.mean == pytest.approx(0.72)
    assert iv.half == pytest.approx(4.303 * 0.02 / math.sqrt(3), rel=1e-3)
    assert iv.low < 0.72 < iv.high and iv.n == 3
    assert str(iv) == "0.720 ± 0.050"


def test_one_seed_has_no_interval_and_none_is_nan():
    assert mean_interval([0.5]).half == math.inf
    assert str(mean_interval([0.5])) == "0.500 (1 seed)"
    assert math.isnan(mean_interval([]).mean)
