"""A hostile pass over every entry point: what a careful but unfriendly user tries.

    python -m tests.hostile_pass --data-dir DIR --work /tmp/hostile [--only PREFIX]

Not part of ``make test`` (it takes ~30 min and needs the real CIFAR-10 in TFDS form):
it runs each case as a user would, in a child process, and sorts the outcome into
clear error (exit 2, one line naming the problem), success, traceback, silent failure
(a case's own check of the files failed), hang (past its time limit) or data lost.
It prints one row per case and the totals (issue 19's table).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

PY = sys.executable
NOISE = ("WARNING: All log messages", "Unable to register", "cuInit", "cpu_feature_guard",
         "rebuild TensorFlow")


@dataclasses.dataclass
class Case:
    name: str
    argv: Sequence[str] | Callable[[], Sequence[str]]
    expect: str  # "error" or "ok"
    setup: Callable[[], None] | None = None
    check: Callable[[], str | None] | None = None  # a problem found in the files, or None
    timeout: float = 300
    kill_after: float | None = None  # send `signal` after this many seconds, then rerun
    signal: int = signal.SIGKILL


def run(argv: Sequence[str], timeout: float, kill_after: float | None = None,
        sig: int = signal.SIGKILL, env: dict | None = None) -> tuple[int | None, str, float]:
    start = time.perf_counter()
    proc = subprocess.Popen([PY, "-m", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=env)
    try:
        if kill_after is not None:
            try:
                proc.wait(kill_after)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err, time.perf_counter() - start
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        return None, err, time.perf_counter() - start


def classify(case: Case, rc: int | None, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()
             and not any(n in line for n in NOISE)]
    if rc is None:
        return "hang"
    if "Traceback" in err:
        return "traceback"
    if case.expect == "error":
        if rc == 2 and any("error:" in line for line in lines[-1:]):
            return "clear error"
        return "silent" if rc == 0 else f"unclear (rc {rc})"
    if rc not in (0, 130) and case.kill_after is None:
        return f"failed (rc {rc}): {lines[-1][:80] if lines else ''}"
    return "success"


def metrics_steps(run_dir: str) -> list[int]:
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


def complete(run_dir: str, steps: int, every: int) -> str | None:
    """A problem with a finished run's files, or None."""
    got = metrics_steps(run_dir)
    if got != list(range(1, steps + 1)):
        return f"metrics.csv steps {got}"
    names = os.listdir(os.path.join(run_dir, "checkpoints"))
    want = sorted({*range(every, steps + 1, every), steps})
    have = sorted(int(n[5:10]) for n in names if n.startswith("step-") and n.endswith(".index"))
    if have != want:
        return f"checkpoints {have}, want {want}"
    with open(os.path.join(run_dir, "state.json")) as f:
        state = json.load(f)
    if not state.get("done") or "seconds" not in state:
        return f"state.json {state}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    data = ["--data-dir", args.data_dir]
    w = lambda *p: os.path.join(work, *p)  # noqa: E731
    smoke = ["--preset", "smoke", "--set", "train.steps=6", "--set", "train.save_every=2"]

    # One finished, probed smoke run every damage case copies.
    base = w("base")
    rc, err, _ = run(["train.pretrain", *smoke, "--out", base, *data], 900)
    assert rc == 0, err[-2000:]
    rc, err, _ = run(["train.probe", "--run", base, "--epochs", "2", *data], 900)
    assert rc == 0, err[-2000:]
    with open(w("afile"), "w") as f:
        f.write("not a folder\n")
    with open(w("garbage.json"), "w") as f:
        f.write("{not json")

    def copy(name: str) -> str:
        target = w(name)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(base, target)
        return target

    def edit_metrics(name: str, line: int, text: str | None) -> Callable[[], None]:
        def do() -> None:
            path = os.path.join(copy(name), "metrics.csv")
            with open(path) as f:
                lines = f.read().splitlines()
            if text is None:
                del lines[line - 1]
            else:
                lines[line - 1] = text
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
        return do

    def one(folder: str, rel: str) -> str:
        [path] = glob.glob(os.path.join(folder, rel))  # probe folders carry a settings digest
        return path

    def truncate(name: str, rel: str, size: int = 10) -> Callable[[], None]:
        def do() -> None:
            with open(one(copy(name), rel), "r+b") as f:
                f.truncate(size)
        return do

    def write(name: str, rel: str, text: str) -> Callable[[], None]:
        def do() -> None:
            with open(one(copy(name), rel), "w") as f:
                f.write(text)
        return do

    def done(name: str, steps: int = 6, every: int = 2) -> Callable[[], str | None]:
        return lambda: complete(w(name), steps, every)

    def warned_and_kept(name: str) -> Callable[[], str | None]:
        return lambda: None if metrics_steps(w(name))[:1] == [1] else "rows changed"

    helps = ["train.pretrain", "train.probe", "train.experiment", "train.variance",
             "train.confusion", "train.demo", "convert.evaluate", "bench.step", "bench.qnn",
             "bench.simulate", "bench.probe", "bench.converged_probe", "bench.recompile",
             "bench.tensorcircuit"]
    cases = [Case(f"help {m}", [m, "--help"], "ok", timeout=60) for m in helps]
    bad_sets = ["model.width=0", "model.width=abc", "model.layers=-1", "model.ansatz=foo",
                "model.activation=relu2", "model.engine=gpu9", "train.steps=0",
                "train.batch_size=1", "train.learning_rate=-1", "data.classes=11",
                "data.classes=[1,1]", "model.shots=0", "model.noise=2", "train.save_every=0",
                "nosuch.key=1", "model=3", "model.width", "train.temperature=0",
                "model.ansatz=ring_product --set model.engine=tensornet --set model.layers=9",
                "model.representation=identity --set model.shots=100"]
    for item in bad_sets:
        sets = [x for part in item.split(" --set ") for x in ("--set", part)]
        cases.append(Case(f"pretrain --set {item}", ["train.pretrain", "--preset", "smoke",
                                                     "--out", w("never"), *sets], "error",
                          check=lambda: "wrote" if os.path.exists(w("never")) else None))
    cases += [
        Case("pretrain --preset nope", ["train.pretrain", "--preset", "nope", "--out", w("n")], "error"),
        Case("pretrain no preset or config", ["train.pretrain", "--out", w("n")], "error"),
        Case("pretrain preset and config", ["train.pretrain", "--preset", "smoke", "--config",
                                            w("garbage.json"), "--out", w("n")], "error"),
        Case("pretrain --config missing", ["train.pretrain", "--config", w("nope.json"),
                                           "--out", w("n")], "error"),
        Case("pretrain --config garbage", ["train.pretrain", "--config", w("garbage.json"),
                                           "--out", w("n")], "error"),
        Case("pretrain --config a folder", ["train.pretrain", "--config", work, "--out", w("n")],
             "error"),
        Case("pretrain --out a file", ["train.pretrain", *smoke, "--out", w("afile")], "error"),
        Case("pretrain --out under a file", ["train.pretrain", *smoke, "--out",
                                             w("afile", "x")], "error"),
        Case("pretrain --data-dir missing", ["train.pretrain", *smoke, "--out", w("dd1"),
                                             "--data-dir", w("nowhere")], "error",
             check=lambda: "wrote" if os.path.exists(w("dd1")) else None),
        Case("pretrain --data-dir a file", ["train.pretrain", *smoke, "--out", w("dd2"),
                                            "--data-dir", w("afile")], "error",
             check=lambda: "wrote" if os.path.exists(w("dd2")) else None),
        Case("pretrain --data-dir empty folder",
             ["train.pretrain", *smoke, "--set", "data.download=false", "--out", w("dd3"),
              "--data-dir", w("emptydata")], "error",
             setup=lambda: os.makedirs(w("emptydata"), exist_ok=True),
             check=lambda: "wrote" if os.path.exists(w("dd3")) else None),
        Case("pretrain --verbose 5", ["train.pretrain", *smoke, "--out", w("n"), "--verbose", "5"],
             "error"),
        Case("pretrain a different config into a run", ["train.pretrain", "--preset", "smoke",
                                                        "--set", "model.width=2", "--out", base,
                                                        *data], "error"),
        Case("pretrain rerun of a finished run", ["train.pretrain", "--config",
                                                  os.path.join(base, "config.json"), "--out",
                                                  base, *data], "ok", check=done("base")),
        # Damaged run folders, rerun.
        Case("pretrain garbled config.json", ["train.pretrain", "--config",
                                              w("c1", "config.json"), "--out", w("c1"), *data],
             "error", setup=write("c1", "config.json", "{garbage")),
        Case("pretrain garbled state.json", lambda: ["train.pretrain", *smoke, "--out", w("c2"),
                                                     *data], "ok",
             setup=write("c2", "state.json", "{garbage"), check=done("c2")),
        Case("pretrain truncated last checkpoint", ["train.pretrain", *smoke, "--out", w("c3"),
                                                    *data], "ok",
             setup=truncate("c3", "checkpoints/step-00006.index"), check=done("c3")),
        Case("pretrain truncated middle checkpoint", ["train.pretrain", *smoke, "--out", w("c4"),
                                                      *data], "ok",
             setup=truncate("c4", "checkpoints/step-00002.data-00000-of-00001"),
             check=done("c4")),
        Case("pretrain garbled metrics line (finished)", ["train.pretrain", *smoke, "--out",
                                                          w("c5"), *data], "ok",
             setup=edit_metrics("c5", 3, "garbage")),
        Case("pretrain torn last metrics line (finished)", ["train.pretrain", *smoke, "--out",
                                                            w("c6"), *data], "ok",
             setup=edit_metrics("c6", 7, "6,1.")),
        Case("probe garbled probe result", ["train.probe", "--run", w("c7"), "--epochs", "2",
                                            *data], "error",
             setup=write("c7", "probe/cached*/step-00006.json", "{garbage")),
        Case("probe truncated head", ["convert.evaluate", "--run", w("c8"), "--backend",
                                      "statevector", "--images", "4", "--out", w("c8e"), *data],
             "error", setup=truncate("c8", "probe/cached*/step-00006.head.npz")),
        Case("probe on a missing run", ["train.probe", "--run", w("nope"), *data], "error"),
        Case("probe on a non-run folder", ["train.probe", "--run", work, *data], "error"),
        Case("probe --checkpoints 999", ["train.probe", "--run", base, "--checkpoints", "999",
                                         *data], "error"),
        Case("probe --checkpoints abc", ["train.probe", "--run", base, "--checkpoints", "abc"],
             "error"),
        Case("probe --checkpoints 2,2", ["train.probe", "--run", base, "--checkpoints", "2,2",
                                         "--epochs", "2", *data], "ok"),
        Case("probe --head foo", ["train.probe", "--run", base, "--head", "foo"], "error"),
        Case("probe --epochs 0", ["train.probe", "--run", base, "--epochs", "0"], "error"),
        Case("probe --protocol x", ["train.probe", "--run", base, "--protocol", "x"], "error"),
        Case("probe --protocol paper --head lbfgs", ["train.probe", "--run", base, "--protocol",
                                                     "paper", "--head", "lbfgs"], "error"),
        Case("probe --data-dir missing", ["train.probe", "--run", base, "--data-dir",
                                          w("nowhere")], "error"),
        Case("probe again (results kept)", ["train.probe", "--run", base, "--epochs", "2",
                                            *data], "ok"),
        Case("confusion --checkpoint all", ["train.confusion", "--run", base, "--checkpoint",
                                            "all"], "error"),
        Case("confusion --checkpoint 5", ["train.confusion", "--run", base, "--checkpoint",
                                          "5"], "error"),
        Case("confusion --images 0", ["train.confusion", "--run", base, "--images", "0"], "error"),
        Case("confusion ok", ["train.confusion", "--run", base, "--images", "20",
                              "--out", w("conf.png"), *data], "ok"),
        # Experiments.
        Case("experiment --spec nope", ["train.experiment", "--spec", "nope", "--out", w("e")],
             "error"),
        Case("experiment --seeds 0", ["train.experiment", "--spec", "fig5", "--seeds", "0",
                                      "--out", w("e")], "error"),
        Case("experiment --variants bogus", ["train.experiment", "--spec", "fig5", "--variants",
                                             "bogus", "--out", w("e")], "error"),
        Case("experiment --set representation", ["train.experiment", "--spec", "fig5", "--set",
                                                  "model.representation=classical", "--out",
                                                  w("e")], "error"),
        Case("experiment ray unreachable", ["train.experiment", "--spec", "fig5", "--seeds", "1",
                                            "--variants", "classical", "--executor", "ray",
                                            "--address", "127.0.0.1:1", "--out", w("e")],
             "error", timeout=60),
        Case("experiment --data-dir missing", ["train.experiment", "--spec", "fig5", "--out",
                                               w("e2"), "--data-dir", w("nowhere")], "error",
             check=lambda: "wrote" if os.path.exists(w("e2")) else None),
        Case("experiment --head foo", ["train.experiment", "--spec", "controls", "--head", "foo",
                                       "--out", w("e")], "error"),
        Case("experiment --probe-every 0", ["train.experiment", "--spec", "fig5",
                                            "--probe-every", "0", "--out", w("e")], "error"),
        Case("experiment --out a file", ["train.experiment", "--spec", "fig5", "--out",
                                         w("afile")], "error"),
        Case("experiment --set bad value", ["train.experiment", "--spec", "fig5", "--set",
                                            "model.width=0", "--out", w("e")], "error"),
        Case("experiment --report-only on nothing", ["train.experiment", "--spec", "fig5",
                                                     "--seeds", "1", "--report-only", "--out",
                                                     w("e3")], "ok"),
        Case("experiment tiny local run", ["train.experiment", "--spec", "fig5", "--seeds", "1",
                                           "--variants", "classical", "--set", "train.steps=2",
                                           "--set", "train.save_every=2", "--set",
                                           "train.batch_size=8", "--set", "model.width=2",
                                           "--probe-epochs", "2", "--out", w("e4"), *data],
             "ok", timeout=900),
        Case("variance --seeds 0", ["train.variance", "--seeds", "0", "--out", w("v")], "error"),
        # The converter.
        Case("evaluate --backend fake_nope", ["convert.evaluate", "--run", base, "--backend",
                                              "fake_nope", "--out", w("ev")], "error"),
        Case("evaluate --images 0", ["convert.evaluate", "--run", base, "--backend",
                                     "statevector", "--images", "0", "--out", w("ev")], "error"),
        Case("evaluate --shots 0", ["convert.evaluate", "--run", base, "--backend", "fake_paris",
                                    "--shots", "0", "--out", w("ev")], "error"),
        Case("evaluate bad instance", ["convert.evaluate", "--run", base, "--backend",
                                       "ibm_brisbane", "--instance", "crn:v1:fake", "--channel",
                                       "ibm_quantum_platform", "--out", w("ev")], "error"),
        Case("evaluate --checkpoint 999", ["convert.evaluate", "--run", base, "--backend",
                                           "statevector", "--checkpoint", "999", "--out",
                                           w("ev")], "error"),
        Case("evaluate --checkpoint all", ["convert.evaluate", "--run", base, "--backend",
                                           "statevector", "--checkpoint", "all", "--out",
                                           w("ev")], "error"),
        Case("evaluate --out a file", ["convert.evaluate", "--run", base, "--backend",
                                       "statevector", "--out", w("afile"), *data], "error"),
        Case("evaluate statevector ok", ["convert.evaluate", "--run", base, "--backend",
                                         "statevector", "--images", "6", "--out", w("ev1"),
                                         *data], "ok"),
        Case("evaluate fake_paris ok", ["convert.evaluate", "--run", base, "--backend",
                                        "fake_paris", "--images", "4", "--shots", "20", "--out",
                                        w("ev2"), *data], "ok", timeout=600),
        Case("evaluate fake_paris rerun resumes", ["convert.evaluate", "--run", base,
                                                   "--backend", "fake_paris", "--images", "4",
                                                   "--shots", "20", "--out", w("ev2"), *data],
             "ok"),
        Case("evaluate other settings into the same out", ["convert.evaluate", "--run", base,
                                                           "--backend", "fake_paris", "--images",
                                                           "5", "--shots", "20", "--out",
                                                           w("ev2"), *data], "error"),
        # Bench tools.
        Case("bench.qnn --width 0", ["bench.qnn", "--width", "0"], "error"),
        Case("bench.simulate --width 0", ["bench.simulate", "--width", "0"], "error"),
        Case("bench.qnn --layers 9 tensornet", ["bench.qnn", "--layers", "9", "--modes",
                                                "tensornet"], "error"),
        Case("bench.probe missing run", ["bench.probe", "--run", w("nope")], "error"),
        Case("bench.probe --checkpoint all", ["bench.probe", "--run", base, "--checkpoint",
                                              "all"], "error"),
        Case("bench.converged_probe missing run", ["bench.converged_probe", "--run",
                                                   w("nope")], "error"),
        Case("bench.step --repeats 0", ["bench.step", "--repeats", "0"], "error"),
        Case("bench.recompile --width 0", ["bench.recompile", "--width", "0"], "error"),
        Case("demo --steps 0", ["train.demo", "--steps", "0", "--out", w("d")], "error"),
    ]
    # Kills and Ctrl-C at several points of a 12-step run, then the same command again.
    long = ["--preset", "smoke", "--set", "train.steps=12", "--set", "train.save_every=3"]
    for n, (after, sig) in enumerate([(3, signal.SIGKILL), (12, signal.SIGKILL),
                                      (18, signal.SIGKILL), (25, signal.SIGKILL),
                                      (4, signal.SIGINT), (14, signal.SIGINT),
                                      (20, signal.SIGINT), (16, signal.SIGTERM)]):
        name = f"k{n}"
        cases.append(Case(f"pretrain {signal.Signals(sig).name} after {after}s, rerun",
                          ["train.pretrain", *long, "--out", w(name), *data], "ok",
                          kill_after=after, signal=sig, check=done(name, 12, 3)))
    for n, after in enumerate((15, 22)):
        cases.append(Case(f"probe SIGKILL after {after}s, rerun",
                          ["train.probe", "--run", w(f"pk{n}"), "--epochs", "3", *data], "ok",
                          setup=lambda n=n: copy(f"pk{n}") and shutil.rmtree(
                              os.path.join(w(f"pk{n}"), "probe")),
                          kill_after=after))

    rows = []
    for case in cases:
        if not case.name.startswith(args.only):
            continue
        try:
            if case.setup:
                case.setup()
        except Exception as err:  # noqa: BLE001 - a bug of this script, not of the project
            rows.append((case.name, "setup failed", 0.0, str(err)[:110]))
            print(f"{'setup failed':14s}         {case.name}  | {err}", flush=True)
            continue
        argv = case.argv() if callable(case.argv) else case.argv
        rc, err, seconds = run(argv, case.timeout, case.kill_after, case.signal)
        outcome = classify(case, rc, err)
        if case.kill_after is not None and outcome == "success":
            rc, err, more = run(argv, case.timeout)  # the same command again: resumes
            seconds += more
            outcome = classify(dataclasses.replace(case, kill_after=None), rc, err)
        if case.check and outcome in ("success", "clear error"):
            problem = case.check()
            if problem:
                outcome = "data lost" if "steps" in problem else "silent"
                err += f"\n[check] {problem}"
        last = [line for line in err.splitlines() if line.strip()
                and not any(n in line for n in NOISE)]
        rows.append((case.name, outcome, seconds, last[-1][:110] if last else ""))
        print(f"{outcome:14s} {seconds:6.1f}s  {case.name}  | {rows[-1][3]}", flush=True)
    totals: dict[str, int] = {}
    for _, outcome, _, _ in rows:
        key = outcome.split(" (")[0].split(":")[0]
        totals[key] = totals.get(key, 0) + 1
    print(f"\n{len(rows)} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
