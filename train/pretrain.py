"""SimCLR pretraining of one run folder.

    python -m train.pretrain --preset paper_5class_quantum --out runs/q0 [--set train.seed=1]
    python -m train.pretrain --config runs/q0/config.json --out runs/q0   # rerun / resume

The run folder gets config.json (the resolved config), checkpoints/ (every
train.save_every steps and at the last), metrics.csv (every step),
hilbert_schmidt.csv (quantum runs), tensorboard/ and state.json. The config is
checked whole before anything is written. Killing a run and rerunning the same
command resumes from its last good checkpoint and ends with every step logged once;
rerunning a finished run does nothing. One process at a time may train into a folder.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from tfq_ssl import cli, rundir
from tfq_ssl import config_io
from tfq_ssl.config import RunConfig
from tfq_ssl.errors import ConfigError
from train.presets import PRESETS, get_preset


def resolve_config(preset: str | None, config_path: str | None, data_dir: str | None,
                   overrides: Sequence[str]) -> RunConfig:
    """The run config from a preset or a saved ``config.json``, plus overrides, validated."""
    if (preset is None) == (config_path is None):
        raise ConfigError("give exactly one of --preset NAME or --config PATH.")
    config = get_preset(preset) if preset else config_io.load_json(config_path)
    if data_dir is not None:
        overrides = [f"data.data_dir={json.dumps(data_dir)}", *overrides]
    return config_io.override(config, list(overrides))


def build_parser() -> cli.ArgumentParser:
    description, epilog = cli.describe(__doc__)
    parser = cli.ArgumentParser(prog="python -m train.pretrain", description=description,
                                epilog=epilog)
    parser.add_argument("--preset", choices=sorted(PRESETS), metavar="NAME",
                        help=f"named config: {', '.join(sorted(PRESETS))}")
    parser.add_argument("--config", metavar="PATH", help="a saved config.json to rerun")
    parser.add_argument("--out", required=True, metavar="RUN_DIR",
                        help="run folder (rerun the same command to resume)")
    cli.add_data_dir(parser, os.environ, "the stored one, else TFDS' own")
    parser.add_argument("--strategy", choices=("default", "mirrored"), default="default",
                        help="mirrored: tf.distribute.MirroredStrategy over all visible GPUs")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="Keras progress: 1 bar, 2 one line per epoch (for logs), 0 none")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE",
                        help="override a config value, e.g. model.width=4 (repeatable)")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    config = resolve_config(args.preset, args.config, args.data_dir, args.overrides)
    cli.check_out_folder(args.out)
    rundir.check_same_run(config, args.out)  # a folder of another run: refused before TF
    # TensorFlow loads only now, so --help and config errors come back at once.
    tf = cli.load_tensorflow()

    from models.simclr_fit import pretrain  # noqa: PLC0415
    from tfq_ssl.callbacks import StopWhenInterrupted  # noqa: PLC0415

    strategy = tf.distribute.MirroredStrategy() if args.strategy == "mirrored" else None
    result = pretrain(config, args.out, strategy=strategy, verbose=args.verbose,
                      callbacks=[StopWhenInterrupted(cli.interrupted)])
    print(json.dumps(result, indent=2))
    print(f"run folder: {os.path.abspath(args.out)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("train.pretrain", _main, argv)


if __name__ == "__main__":
    sys.exit(main())
