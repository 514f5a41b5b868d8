"""Statistics for seed-to-seed comparisons of probe accuracies (t-based, two-sided).

The protocol's seed-to-seed spread (3–4 points for the paper's own code on CIFAR-10)
is as large as the quantum–classical difference the paper reports, so every figure
here comes with its 95 % confidence interval, every comparison with a p-value, and
:func:`seeds_for_power` says how many seeds a comparison needs.

* :func:`describe`: mean, sample std (ddof 1), t-based 95 % CI of the mean.
* :func:`welch`: difference of two independent samples, Welch's unequal-variance t
  test (Welch–Satterthwaite degrees of freedom) and the t-based CI of the difference.
* :func:`paired`: difference of paired samples (seed ``s`` of both variants saw the
  same data), one-sample t test of the per-seed differences.
* :func:`std_interval`: the chi-square CI of a sample's standard deviation.
* :func:`wilson`, :func:`newcombe`: a proportion's Wilson score interval (accuracy on a
  set of test images) and Newcombe's interval of the difference of two proportions.
* :func:`seeds_for_power`: seeds per arm for a two-sided two-sample t test to detect
  a difference at a given power, from the noncentral t distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.95


def describe(values: Sequence[float], level: float = LEVEL) -> dict[str, float | int | None]:
    """``{"mean", "std", "n", "ci_low", "ci_high"}``: the CI is ``None`` below 2 values."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        raise ValueError("describe needs at least one value.")
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    low = high = None
    if n > 1:
        half = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * std / math.sqrt(n)
        low, high = mean - half, mean + half
    return {"mean": mean, "std": std, "n": n, "ci_low": low, "ci_high": high}


def welch(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> dict[str, float]:
    """``mean(a) − mean(b)`` with its CI, Welch's t, its degrees of freedom and p."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size < 2 or y.size < 2:
        raise ValueError("Welch's test needs at least two values on each side.")
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    diff = float(x.mean() - y.mean())
    se = math.sqrt(vx + vy)
    if se == 0:  # no spread on either side: the difference is exact
        return {"difference": diff, "ci_low": diff, "ci_high": diff,
                "t": math.copysign(math.inf, diff) if diff else 0.0,
                "df": float(x.size + y.size - 2), "p": 0.0 if diff else 1.0,
                "n_a": int(x.size), "n_b": int(y.size)}
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    t = diff / se
    p = 2 * scipy_stats.t.sf(abs(t), df)
    half = scipy_stats.t.ppf(0.5 + level / 2, df) * se
    return {"difference": diff, "ci_low": diff - half, "ci_high": diff + half, "t": t,
            "df": df, "p": float(p), "n_a": int(x.size), "n_b": int(y.size)}


def paired(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> dict[str, float]:
    """Mean of the per-seed differences ``a_s − b_s`` with its CI, t, df and p."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size < 2:
        raise ValueError("a paired test needs at least two pairs.")
    summary = describe(d, level)
    se = summary["std"] / math.sqrt(d.size)
    # No spread: a nonzero difference is certain (p = 0), no difference is none (p = 1).
    t = (summary["mean"] / se if se > 0 else
         math.copysign(math.inf, summary["mean"]) if summary["mean"] else 0.0)
    p = 2 * scipy_stats.t.sf(abs(t), d.size - 1)
    return {"difference": summary["mean"], "ci_low": summary["ci_low"],
            "ci_high": summary["ci_high"], "t": t, "df": d.size - 1, "p": float(p),
            "n": int(d.size)}


def std_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """The CI of the standard deviation of normal data: ``s·√((n−1)/χ²)`` at the
    chi-square quantiles ``1 − α/2`` (low end) and ``α/2`` (high end)."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        raise ValueError("a standard deviation's interval needs at least two values.")
    ss = float(((x - x.mean()) ** 2).sum())
    df = x.size - 1
    return (math.sqrt(ss / scipy_stats.chi2.ppf(0.5 + level / 2, df)),
            math.sqrt(ss / scipy_stats.chi2.ppf(0.5 - level / 2, df)))


def seeds_for_power(difference: float, std: float, power: float = 0.8, alpha: float = 0.05,
                    maximum: int = 10_000) -> int:
    """Seeds per arm for a two-sided two-sample t test (equal n, common ``std``) to
    detect ``difference`` with probability ``power`` at level ``alpha``."""
    if std <= 0 or difference == 0:
        raise ValueError("seeds_for_power needs std > 0 and a non-zero difference.")
    effect = abs(difference) / std
    for n in range(2, maximum + 1):
        df = 2 * n - 2
        crit = scipy_stats.t.ppf(1 - alpha / 2, df)
        nc = effect * math.sqrt(n / 2)
        achieved = scipy_stats.nct.sf(crit, df, nc) + scipy_stats.nct.cdf(-crit, df, nc)
        if achieved >= power:
            return n
    return maximum


def wilson(correct: int, n: int) -> tuple[float, float]:
    """The Wilson score 95 % interval of a proportion (scipy's)."""
    ci = scipy_stats.binomtest(correct, n).proportion_ci(confidence_level=LEVEL, method="wilson")
    return float(ci.low), float(ci.high)


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``k1/n1 − k2/n2`` (from the two Wilson ones)."""
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def per_class_accuracy(confusion: Sequence[Sequence[int]]) -> list[float]:
    """Each true class's accuracy from a confusion matrix (rows: true, columns:
    predicted); NaN for a class with no images."""
    return [row[i] / sum(row) if sum(row) else float("nan") for i, row in enumerate(confusion)]


def newcombe_paired(first: Sequence[bool], second: Sequence[bool]) -> tuple[float, float]:
    """Newcombe's square-and-add 95 % interval of ``mean(first) − mean(second)`` when the
    two are outcomes on the same items (two models on the same test images): his
    method 10 (Statistics in Medicine 17, 2635–2650, 1998). The two Wilson intervals
    are combined as in :func:`newcombe`, less their covariance: phi, the correlation of
    the paired outcomes, continuity-corrected by n/2 when positive (zero below that).
    The more the two agree, the narrower the interval against the unpaired one."""
    x, y = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    if x.shape != y.shape or x.ndim != 1 or not len(x):
        raise ValueError(f"paired outcomes need two equal non-empty 1-D sequences, got "
                         f"shapes {x.shape} and {y.shape}.")
    n = len(x)
    both, only_x, only_y = int(np.sum(x & y)), int(np.sum(x & ~y)), int(np.sum(~x & y))
    neither = n - both - only_x - only_y
    k1, k2 = both + only_x, both + only_y
    p1, p2 = k1 / n, k2 / n
    (l1, u1), (l2, u2) = wilson(k1, n), wilson(k2, n)
    margins = k1 * (n - k1) * k2 * (n - k2)
    cross = both * neither - only_x * only_y
    if margins == 0 or 0 <= cross <= n / 2:
        phi = 0.0
    else:
        phi = (cross - n / 2 if cross > 0 else cross) / math.sqrt(margins)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2)))
