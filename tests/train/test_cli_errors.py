"""Bad input to any entry point: one line on stderr, exit status 2, nothing written.

The rows of the hostile-input table of issue 10, each in its own test; a corrected
rerun on the same folder must then be accepted.
"""

import json
import os
import subprocess
import sys

import pytest

from bench import probe as bench_probe
from convert import evaluate
from tests.helpers import ROOT
from train import confusion, experiment, paper, pretrain, probe, variance

BAD_SETTINGS = {
    "width 0": ["model.width=0"],
    "width -3": ["model.width=-3"],
    "layers 0": ["model.layers=0"],
    "engine foo": ["model.engine=foo"],
    "backend foo (old name)": ["model.backend=foo"],
    "shots 0": ["model.shots=0", "model.differentiator=parameter_shift"],
    "shots -5": ["model.shots=-5", "model.differentiator=parameter_shift"],
    "ansatz star": ["model.ansatz=star"],
    "tensornet all_to_all": ["model.engine=tensornet", "model.ansatz=all_to_all"],
    "tensornet layers 4": ["model.engine=tensornet", "model.layers=4"],
    "noise with adjoint": ["model.noise=0.1"],
    "noise 1.5": ["model.noise=1.5", "model.differentiator=parameter_shift"],
    "batch size 1": ["train.batch_size=1"],
    "steps 0": ["train.steps=0"],
    "classes 11": ["data.classes=11"],
    "classes 0": ["data.classes=0"],
    "classes one": ["data.classes=[3]"],
    "unknown key": ["model.widht=3"],
    "init jax": ["model.init=jax"],
    "data seed -1": ["train.data_seed=-1"],
}
KEYS = {"width 0": "model.width", "width -3": "model.width", "layers 0": "model.layers",
        "engine foo": "model.engine", "backend foo (old name)": "model.engine",
        "shots 0": "model.shots", "shots -5": "model.shots", "ansatz star": "model.ansatz",
        "tensornet all_to_all": "model.engine", "tensornet layers 4": "model.layers",
        "noise with adjoint": "model.noise",
        "noise 1.5": "model.noise", "batch size 1": "train.batch_size",
        "steps 0": "train.steps", "classes 11": "data.classes", "classes 0": "data.classes",
        "classes one": "data.classes", "unknown key": "widht", "init jax": "model.init",
        "data seed -1": "train.data_seed"}


def _one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "error:" in err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_setting_is_one_line_and_writes_nothing(case, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--preset", "smoke", "--out", str(out)]
    for item in BAD_SETTINGS[case]:
        args += ["--set", item]
    _one_line_error(capsys, pretrain.main(args), KEYS[case])
    assert not out.exists()


def test_config_file_errors_name_the_file(tmp_path, capsys):
    out = str(tmp_path / "run")
    missing = str(tmp_path / "nope.json")
    _one_line_error(capsys, pretrain.main(["--config", missing, "--out", out]), missing, "does not exist")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    _one_line_error(capsys, pretrain.main(["--config", str(garbage), "--out", out]),
                    str(garbage), "not valid JSON")
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"name": "x", "model": {"width": 4}}))
    _one_line_error(capsys, pretrain.main(["--config", str(partial), "--out", out]),
                    "missing field(s)", "model.layers", "train")
    _one_line_error(capsys, pretrain.main(["--preset", "nope", "--out", out]), "--preset")
    _one_line_error(capsys, pretrain.main(["--out", out]), "exactly one of --preset")
    assert not os.path.exists(out)


def test_garbage_config_json_of_a_run_is_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text("garbage")
    _one_line_error(capsys, probe.main(["--run", str(tmp_path)]), "config.json", "not valid JSON")
    _one_line_error(capsys, pretrain.main(["--config", str(tmp_path / "config.json"),
                                           "--out", str(tmp_path)]), "not valid JSON")


@pytest.mark.parametrize("args, needle", [
    (["--epochs", "0"], "--epochs"), (["--batch-size", "0"], "--batch-size"),
    (["--epochs", "many"], "--epochs"), (["--seed", "-1"], "--seed")])
def test_probe_options(tmp_path, capsys, args, needle):
    _one_line_error(capsys, probe.main(["--run", str(tmp_path), *args]), needle)


def test_probe_of_a_folder_that_is_no_run(tmp_path, capsys):
    _one_line_error(capsys, probe.main(["--run", str(tmp_path)]), "not a run folder")


@pytest.mark.parametrize("images", ["0", "-5"])
def test_confusion_and_evaluate_image_counts(tmp_path, capsys, images):
    _one_line_error(capsys, confusion.main(["--run", str(tmp_path), "--images", images]), "--images")
    _one_line_error(capsys, evaluate.main(["--run", str(tmp_path), "--backend", "statevector",
                                           "--images", images, "--out", str(tmp_path / "o")]),
                    "--images")


@pytest.mark.parametrize("flags,needle", [
    (["--executor", "slurm"], "--executor"), (["--gpus-per-task", "-1"], "--gpus-per-task"),
    (["--gpus-per-task", "nan"], "--gpus-per-task"), (["--cpus-per-task", "0"], "--cpus-per-task"),
    (["--retries", "-1"], "--retries")])
def test_experiment_refuses_bad_executor_options(flags, needle, tmp_path, capsys):
    out = tmp_path / "e"
    code = experiment.main(["--spec", "fig5", "--out", str(out), *flags])
    _one_line_error(capsys, code, needle)
    assert not out.exists()


def test_experiment_refuses_bad_overrides_before_running(tmp_path, capsys):
    code = experiment.main(["--spec", "fig5", "--out", str(tmp_path / "e"), "--seeds", "1",
                            "--set", "model.width=0"])
    _one_line_error(capsys, code, "model.width")
    assert not (tmp_path / "e").exists()


def test_corrected_rerun_is_accepted_after_a_bad_one(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert pretrain.main(["--preset", "smoke", "--out", out, "--set", "model.width=0"]) == 2
    from tfq_ssl import config_io, rundir
    config = pretrain.resolve_config("smoke", None, None, [])
    rundir.prepare(config, out)  # what the corrected run writes first: accepted
    assert config_io.load_json(os.path.join(out, "config.json")) == config


def _main_in_a_child(module: str, argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``train.<module>.main(argv)`` (or a dotted ``package.module``'s) in a fresh
    interpreter; its stdout says whether TensorFlow was imported ("TF" or "no TF"),
    its exit status is main's."""
    name = module if "." in module else f"train.{module}"
    script = (
        "import importlib, sys\n"
        f"code = importlib.import_module({name!r}).main({argv!r})\n"
        "print('TF' if 'tensorflow' in sys.modules else 'no TF')\n"
        "sys.exit(code)\n"
    )
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("where", ["the file", "under the file"])
def test_pretrain_out_blocked_by_a_file_is_one_line_before_tensorflow(where, tmp_path):
    """--out naming an existing file (or a path through one) was a raw [Errno 17] after
    TensorFlow had loaded; the file must be left alone."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a run")
    out = str(blocker if where == "the file" else blocker / "run")
    proc = _main_in_a_child("pretrain", ["--preset", "smoke", "--out", out])
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.strip() == "no TF"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train.pretrain: error: --out "), proc.stderr
    assert f"{blocker} is a file, not a folder" in lines[0]
    assert blocker.read_text() == "not a run"


@pytest.mark.parametrize("module, argv", [
    ("experiment", ["--spec", "fig5", "--seeds", "1"]),
    ("variance", ["--preset", "smoke", "--seeds", "2"]),
    ("paper", ["--figures", "fig4", "--seeds", "1"]),
])
def test_a_sweep_out_blocked_by_a_file_is_one_line(module, argv, tmp_path, capsys):
    """train.experiment, train.variance and train.paper answered a raw '[Errno 20] Not a
    directory' for an --out through a file."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not an experiment")
    main = {"experiment": experiment.main, "variance": variance.main, "paper": paper.main}[module]
    code = main([*argv, "--out", str(blocker / "exp")])
    _one_line_error(capsys, code, f"{blocker} is a file, not a folder")
    assert blocker.read_text() == "not an experiment"


def test_pretrain_out_may_be_new_or_an_existing_folder(tmp_path):
    from tfq_ssl import cli
    cli.check_out_folder(str(tmp_path))  # a run folder to resume
    cli.check_out_folder(str(tmp_path / "new" / "deeper"))  # made by the run
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    from tfq_ssl.errors import RunFolderError
    with pytest.raises(RunFolderError, match="dangling is not a folder"):
        cli.check_out_folder(str(tmp_path / "dangling" / "run"))


def test_evaluate_out_blocked_by_a_file_is_one_line_before_tensorflow(tmp_path):
    """Hostile pass: convert.evaluate answered a raw '[Errno 17] File exists' after
    TensorFlow had loaded."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    proc = _main_in_a_child("convert.evaluate", ["--run", str(tmp_path), "--backend", "statevector",
                                         "--out", str(blocker)])
    assert proc.returncode == 2 and proc.stdout.strip() == "no TF", proc.stderr
    assert "is a file, not a folder" in proc.stderr


@pytest.mark.parametrize("module,argv", [("bench.step", ["--repeats", "0"]),
                                         ("bench.recompile", ["--width", "0"]),
                                         ("bench.recompile", ["--target-overlap", "1.5"])])
def test_bench_tools_answer_bad_values_in_one_line(module, argv, capsys):
    """Hostile pass: both printed a traceback (an empty median, a ConfigError)."""
    import importlib
    assert importlib.import_module(module).main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err


def test_help_is_instant_and_loads_no_tensorflow():
    modules = ["train.pretrain", "train.probe", "train.confusion", "train.experiment",
               "train.demo", "convert.evaluate"]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name).main(['--help'])\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, name\n"
        "print('TF' if 'tensorflow' in sys.modules else 'no TF')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("no TF")
    # Descriptions are whole sentences, not cut at a colon.
    assert "checkpoints" in proc.stdout and "usage: python -m convert.evaluate" in proc.stdout


def _run_with_checkpoints(tmp_path, steps=(2, 4)):
    """A run folder with a config and complete-looking checkpoints: all that the
    checks before TensorFlow loads look at."""
    from tests.helpers import tiny_config
    from tfq_ssl import config_io, rundir
    run = tmp_path / "run"
    os.makedirs(run / rundir.CHECKPOINT_DIR)
    config_io.save_json(tiny_config(), rundir.config_path(str(run)))
    for step in steps:
        for suffix in (".index", ".data-00000-of-00001"):
            (run / rundir.CHECKPOINT_DIR / f"step-{step:05d}{suffix}").write_bytes(b"")
    assert rundir.list_checkpoints(str(run)) == list(steps)
    return run


ONE_CHECKPOINT_COMMANDS = {
    "train.confusion": lambda run, spec: confusion.main(["--run", run, "--checkpoint", spec]),
    "convert.evaluate": lambda run, spec: evaluate.main(
        ["--run", run, "--checkpoint", spec, "--backend", "statevector", "--out", run + "-eval"]),
    "bench.probe": lambda run, spec: bench_probe.main(["--run", run, "--checkpoint", spec]),
}


@pytest.mark.parametrize("spec", ["all", "2,4", "4,4", "latest,2"])
@pytest.mark.parametrize("command", sorted(ONE_CHECKPOINT_COMMANDS))
def test_one_checkpoint_commands_refuse_several(command, spec, tmp_path, capsys):
    run = str(_run_with_checkpoints(tmp_path))
    err = _one_line_error(capsys, ONE_CHECKPOINT_COMMANDS[command](run, spec))
    assert err == f"{command}: error: --checkpoint takes one step or latest, got {spec!r}."
    assert not os.path.exists(run + "-eval")


def test_confusion_refuses_several_checkpoints_before_tensorflow_loads(tmp_path):
    run = str(_run_with_checkpoints(tmp_path))
    proc = _main_in_a_child("confusion", ["--run", run, "--checkpoint", "all"])
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.strip() == "no TF"
    assert proc.stderr.strip().splitlines() == [
        "train.confusion: error: --checkpoint takes one step or latest, got 'all'."]


def test_one_checkpoint_accepts_a_step_or_latest(tmp_path):
    from tfq_ssl import cli
    from tfq_ssl.errors import ConfigError
    run = str(_run_with_checkpoints(tmp_path))
    assert cli.one_checkpoint(run, "latest") == 4
    assert cli.one_checkpoint(run, "2") == 2
    with pytest.raises(ConfigError, match=r"no checkpoints for steps \[3\]"):
        cli.one_checkpoint(run, "3")


@pytest.mark.parametrize("sets", [["model.representation=classical"],
                                  ["model.ansatz=all_to_all"], ["model.engine=tfq"]])
def test_experiment_refuses_sets_that_change_what_a_variant_is(sets, tmp_path, capsys):
    """Hostile case 7: `--set model.representation=classical --variants quantum` trained a
    classical model into runs/quantum; now one line, exit 2, nothing written."""
    from train import experiment
    argv = ["--spec", "fig5", "--out", str(tmp_path / "e"), "--seeds", "1",
            "--variants", "quantum"]
    for item in sets:
        argv += ["--set", item]
    assert experiment.main(argv) == 2
    err = capsys.readouterr().err
    assert "would change what the spec's variants are" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e").exists()


def test_experiment_checks_data_dir_and_ray_address_before_writing(tmp_path, capsys):
    """Hostile cases 6 and 1: a missing --data-dir was found only inside every run, and
    an unreachable --address hung for ever."""
    import time
    from train import experiment
    base = ["--spec", "fig5", "--out", str(tmp_path / "e"), "--seeds", "1"]
    assert experiment.main([*base, "--data-dir", str(tmp_path / "nowhere")]) == 2
    assert "--data-dir" in capsys.readouterr().err
    start = time.monotonic()
    assert experiment.main([*base, "--executor", "ray", "--address", "127.0.0.1:1"]) == 2
    assert time.monotonic() - start < 30
    assert "no Ray cluster answers there" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()
