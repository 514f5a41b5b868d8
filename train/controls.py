"""The report of the ``controls`` experiment (issue 23): is Fig. 5's advantage quantum?

Read by ``train.experiment`` (not an entry point). For every probe head and every arm
at the last probed checkpoint: accuracy with its t-based 95 % CI, paired differences
against the ring and against the classical LeakyReLU network (seed s of every arm saw
the same batches), the low tail (runs more than :data:`TAIL_POINTS` below the arm's
median), the median feature spread a linear head sees, and one line of verdict per
control, worded from the intervals alone.
"""

from __future__ import annotations

import statistics
from typing import Any, Sequence

from tfq_ssl import stats

RING, CLASSICAL = "quantum", "classical"
TAIL_POINTS = 3.0

# What each control asks, for the verdict lines.
QUESTIONS = {
    "quantum_ring_product": "the ring without entanglement",
    "classical_cos": "a classical network with bounded, periodic outputs (cos)",
    "classical_tanh": "a classical network with bounded outputs (tanh)",
    "identity": "no representation network (angles straight to the head)",
}


# What ring_product computes (tests/tfq_ssl/quantum: its ⟨Z_k⟩ against this closed form).
PRODUCT_CLOSED_FORM = (
    "*What `quantum_ring_product` computes.* Without its CRX gates the circuit is a product "
    "of one-qubit circuits: qubit k sees RX(x_k), then per layer RY and the RX that replaced "
    "the CRX aimed at it, all weights. The weights compose to one fixed rotation R_k of the "
    "Bloch sphere, applied to the loaded vector (0, −sin x_k, cos x_k), so "
    "⟨Z_k⟩ = R_k[z,z]·cos x_k − R_k[z,y]·sin x_k = A_k·cos(x_k + φ_k), with "
    "A_k = √(R_k[z,y]² + R_k[z,z]²) ≤ 1. Each output is a sinusoid of its own input angle "
    "alone: the network is a trained, bounded, elementwise squash of the W angles and "
    "mixes no features. Whatever it gains over the classical network, no entanglement and "
    "no interaction between features is needed for it.")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _paired(a: dict[int, float], b: dict[int, float]) -> dict[str, Any] | None:
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    return {**stats.paired([a[s] for s in seeds], [b[s] for s in seeds]), "seeds": seeds}


def _ci(row: dict[str, Any]) -> str:
    return f"{100 * row['difference']:+.2f} [{100 * row['ci_low']:+.2f}, {100 * row['ci_high']:+.2f}]"


def verdict(name: str, vs_ring: dict[str, Any] | None, vs_classical: dict[str, Any] | None) -> str:
    """One plain line: does this control keep the ring's gain over the classical network?

    "Removes the gain": the control is below the ring (CI of control − ring below 0) and
    not above the classical network (CI of control − classical covers or is below 0).
    "Keeps the gain": above the classical network and not below the ring. Anything else
    is said as what the intervals show, including "not established".
    """
    what = QUESTIONS.get(name, name)
    if vs_ring is None or vs_classical is None:
        return f"- **{name}** ({what}): not enough paired seeds yet."
    below_ring = vs_ring["ci_high"] < 0
    above_ring = vs_ring["ci_low"] > 0
    above_classical = vs_classical["ci_low"] > 0
    below_classical = vs_classical["ci_high"] < 0
    numbers = f"(− ring {_ci(vs_ring)}; − classical {_ci(vs_classical)} points)"
    if below_ring and not above_classical:
        text = "removes the gain: below the ring, not above the classical network"
    elif above_classical and not below_ring:
        text = ("keeps the gain: above the classical network" +
                (" and above the ring" if above_ring else ", not distinguishable from the ring"))
    elif above_classical and below_ring:
        text = "keeps part of the gain: above the classical network and below the ring"
    elif below_classical:
        text = "is below even the classical network"
    else:
        text = "not established: distinguishable from neither the ring nor the classical network"
    return f"- **{name}** ({what}) {text} {numbers}."


def head_section(head: str, runs: dict[str, dict[int, dict[str, Any]]], step: int,
                 order: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """Markdown and JSON of one probe head.

    Args:
        head: the probe head's name.
        runs: per arm, per seed, the stored probe result at ``step``.
        step: the checkpoint.
        order: the arms in report order.
    """
    acc = {arm: {s: float(r["final_test_accuracy"]) for s, r in runs.get(arm, {}).items()}
           for arm in order}
    lines = [f"## Probe head `{head}` (checkpoint {step}, final epoch)", "",
             "| arm | n | accuracy (%) mean ± sd | 95 % CI | − ring (paired) | p | "
             "− classical (paired) | p | runs > 3 points below the arm's median | "
             "median feature std |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    data: dict[str, Any] = {}
    for arm in order:
        values = acc[arm]
        if not values:
            lines.append(f"| {arm} | 0 | not run | | | | | | | |")
            continue
        d = stats.describe(list(values.values()))
        median = statistics.median(values.values())
        tail = sorted(s for s, v in values.items() if 100 * (median - v) > TAIL_POINTS)
        spreads = [r["feature_std_median"] for r in runs[arm].values() if "feature_std_median" in r]
        spread = statistics.median(spreads) if spreads else None
        cells = [arm, str(d["n"]), f"{_pct(d['mean'])} ± {_pct(d['std'])}",
                 f"[{_pct(d['ci_low'])}, {_pct(d['ci_high'])}]" if d.get("ci_low") is not None else "–"]
        comparisons = {}
        for ref in (RING, CLASSICAL):
            row = None if arm == ref else _paired(values, acc.get(ref, {}))
            comparisons[ref] = row
            cells += [_ci(row), _p(row["p"])] if row else ["–", "–"]
        cells += [f"{len(tail)} of {len(values)}" + (f" (seeds {tail})" if tail else ""),
                  f"{spread:.3g}" if spread is not None else "–"]
        lines.append("| " + " | ".join(cells) + " |")
        data[arm] = {"accuracy": d, "values": {str(s): v for s, v in values.items()},
                     "vs_ring": comparisons[RING], "vs_classical": comparisons[CLASSICAL],
                     "low_tail_seeds": tail, "median_feature_std": spread}
    lines += ["", "Verdicts (from the paired intervals above):", ""]
    for arm in order:
        if arm in QUESTIONS and arm in data:
            lines.append(verdict(arm, data[arm]["vs_ring"], data[arm]["vs_classical"]))
    return lines, data


def controls_lines(results: dict[str, dict[str, dict[int, dict[str, Any]]]],
                   order: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """Every head's section at the last checkpoint every arm of that head reached.

    Args:
        results: per head, per arm, per seed, per step: the stored probe result
            (``{head: {arm: {seed: {step: result}}}}``).
        order: the arms in report order.
    """
    lines: list[str] = []
    data: dict[str, Any] = {}
    for head, arms in results.items():
        steps = [max(by_seed[s] for s in by_seed) for by_seed in
                 ({seed: max(r) for seed, r in seeds.items() if r} for seeds in arms.values())
                 if by_seed]
        if not steps:
            continue
        step = min(steps)
        at_step = {arm: {seed: r[step] for seed, r in seeds.items() if step in r}
                   for arm, seeds in arms.items()}
        section, data[head] = head_section(head, at_step, step, order)
        lines += ["", *section]
    lines += ["", f"*Low tail*: runs more than {TAIL_POINTS:g} points below their arm's median. "
              "*Median feature std*: over the arm's seeds, the median across the W features "
              "of each feature's std over the training split (what a linear head on raw "
              "features sees)."]
    if "quantum_ring_product" in order:
        lines += ["", PRODUCT_CLOSED_FORM]
    return lines, data
