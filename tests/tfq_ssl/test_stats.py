"""Statistics against hand-computed values and the figures quoted in issue 13."""

import math

import numpy as np
import pytest

from tfq_ssl import stats

REFERENCE = [44.16, 42.34, 35.48, 42.56, 46.32, 41.10, 44.66]  # bjader/QSSL, 7 seeds
OURS = [37.18, 37.64, 41.42, 36.20, 42.88, 36.92]  # paper_5class_classical, 6 seeds


def test_describe_by_hand():
    d = stats.describe([1.0, 2.0, 3.0, 4.0])
    assert d["mean"] == 2.5 and d["n"] == 4
    assert d["std"] == pytest.approx(math.sqrt(5 / 3))
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2  # t(0.975, 3) from tables
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((2.5 - half, 2.5 + half))
    single = stats.describe([0.3])
    assert single["std"] == 0.0 and single["ci_low"] is None


def test_reference_figures_of_issue_13():
    ref = stats.describe(REFERENCE)
    assert ref["mean"] == pytest.approx(42.37, abs=0.01)
    assert ref["std"] == pytest.approx(3.49, abs=0.01)
    assert (ref["ci_low"], ref["ci_high"]) == pytest.approx((39.1, 45.6), abs=0.05)
    w = stats.welch(REFERENCE, OURS)
    assert w["t"] == pytest.approx(2.12, abs=0.01)
    assert w["df"] == pytest.approx(10.9, abs=0.05)
    assert w["p"] == pytest.approx(0.058, abs=0.003)


def test_welch_by_hand():
    a, b = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0]
    va, vb = 1.0 / 3, (20 / 3) / 4
    t = (2.0 - 5.0) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)
    w = stats.welch(a, b)
    assert w["difference"] == -3.0
    assert w["t"] == pytest.approx(t) and w["df"] == pytest.approx(df)
    # Welch is symmetric, and equal samples give p = 1
    assert stats.welch(b, a)["p"] == pytest.approx(w["p"])
    assert stats.welch(a, a)["p"] == pytest.approx(1.0)


def test_paired_removes_the_shared_seed_effect():
    seed_effect = np.array([0.0, 5.0, -4.0, 8.0, -6.0])
    quantum = 40 + seed_effect + np.array([1.1, 0.9, 1.0, 1.2, 0.8])
    classical = 40 + seed_effect
    p = stats.paired(quantum, classical)
    assert p["difference"] == pytest.approx(1.0)
    assert p["p"] < 1e-3  # the pairing sees it ...
    assert stats.welch(quantum, classical)["p"] > 0.5  # ... the unpaired test cannot
    sd = np.std([0.1, -0.1, 0.0, 0.2, -0.2], ddof=1)
    assert p["ci_high"] - p["difference"] == pytest.approx(2.776445105 * sd / math.sqrt(5))


def test_paired_without_spread():
    # identical arms: no difference at all (Welch says p = 1 too), not a certain one
    same = stats.paired([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert (same["t"], same["p"]) == (0.0, 1.0)
    assert stats.welch([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])["p"] == pytest.approx(1.0)
    # the same shift in every pair: certain
    shifted = stats.paired([0.5, 0.75, 1.0], [0.25, 0.5, 0.75])  # exact in binary
    assert shifted["t"] == math.inf and shifted["p"] == 0.0


def test_seeds_for_power():
    # the issue's estimate: 3 points at a spread of 3-4 points needs ~20 seeds per arm
    assert 17 <= stats.seeds_for_power(3.0, 3.5) <= 24
    assert stats.seeds_for_power(3.0, 3.5) < stats.seeds_for_power(3.0, 4.0)
    # textbook value: effect size 1 at 80 % power needs 17 per arm (t test)
    assert stats.seeds_for_power(1.0, 1.0) == 17


def test_std_interval_by_hand():
    # five values with sample variance 1: chi-square(4) quantiles 0.484419 and 11.143287
    values = [-1.0, -0.5, 0.0, 0.5, 1.0]
    values = [v / np.std(values, ddof=1) for v in values]
    low, high = stats.std_interval(values)
    assert (low, high) == pytest.approx((math.sqrt(4 / 11.143287), math.sqrt(4 / 0.484419)),
                                        rel=1e-5)
    with pytest.raises(ValueError):
        stats.std_interval([1.0])


def test_welch_without_spread_is_exact():
    w = stats.welch([0.5, 0.5], [0.4, 0.4])
    assert w["difference"] == pytest.approx(0.1) and w["p"] == 0.0
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((0.1, 0.1))
    assert stats.welch([0.5, 0.5], [0.5, 0.5])["p"] == 1.0


def test_wilson_and_newcombe_intervals_match_their_published_values():
    # Newcombe (1998), Statistics in Medicine 17, Table II: 81/263 → [0.2553, 0.3662].
    low, high = stats.wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    # Newcombe (1998), Stat Med 17, 873, Table II, example (a): 56/70 − 48/80 → [0.0524, 0.3339].
    low, high = stats.newcombe(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def _pairs(both, only_first, only_second, neither):
    first = [1] * both + [1] * only_first + [0] * only_second + [0] * neither
    second = [1] * both + [0] * only_first + [1] * only_second + [0] * neither
    return first, second


def test_paired_newcombe_matches_its_published_value_and_narrows_with_agreement():
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables", ch. 8:
    # Cavo et al. (2012), the paired table [[59, 6], [16, 80]]: the Newcombe
    # square-and-add interval is -0.0621 (-0.1186 to -0.0046).
    low, high = stats.newcombe_paired(*_pairs(59, 6, 16, 80))
    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046)
    # The same margins unpaired would be wider, and would include zero.
    wide = stats.newcombe(65, 161, 75, 161)
    assert wide[0] < low and high < wide[1] and wide[1] > 0
    # Independent outcomes (ad - bc within n/2): no narrowing, the unpaired interval.
    assert stats.newcombe_paired(*_pairs(25, 25, 25, 25)) == pytest.approx(
        stats.newcombe(50, 100, 50, 100))
    with pytest.raises(ValueError, match="equal non-empty"):
        stats.newcombe_paired([1, 0], [1])
