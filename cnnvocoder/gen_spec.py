"""Compute the CNN vocoder's spectrograms of a recording.

Writes ``-o out.npz`` with ``spec`` [frames, 1025] (normalised linear
log-magnitude), ``mel`` [frames, n_mels], ``sr``, ``n_samples`` and the analysis
settings n_fft, win_length, hop_length, ref_level_db, min_level_db (the
recording is resampled to the configuration's rate, 22.05 kHz by default).
The analysis settings come from ``--preset``: a preset name or the
configuration saved beside a checkpoint (e.g. models/cnnvocoder/model.json).

    python -m cnnvocoder.gen_spec -i data/LJ001-0001.wav -o output_cnnvocoder/LJ001-0001.npz
"""
import argparse
from pathlib import Path

import numpy as np

from cnnvocoder.config import DEFAULT_PRESET, preset_config
from cnnvocoder.features import STORED_SETTINGS, compute_features
from dsp.audio import atomic_output, check_output, cli_main, load_audio


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnnvocoder.gen_spec",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-i", "--input", required=True, help="input audio file")
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument("--preset", default=DEFAULT_PRESET,
                   help="analysis settings: a preset name (cnnvocoder/presets/NAME.json) or a "
                        ".json configuration, e.g. models/cnnvocoder/model.json")
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    config = preset_config(args.preset)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    check_output(out)  # an unwritable output folder stops the run before any work
    x, sr = load_audio(args.input, sr=config["sr"], min_samples=config["hop_length"])
    spec, mel = compute_features(x, config)
    with atomic_output(out) as tmp:
        with open(tmp, "wb") as fh:
            # the analysis settings travel with the arrays: synthesis refuses a file made
            # with other STFT settings than its model's instead of inverting it wrongly
            settings = {k: np.asarray(config[k]) for k in STORED_SETTINGS if k != "sr"}
            np.savez(fh, spec=spec, mel=mel, sr=np.int64(sr), n_samples=np.int64(len(x)),
                     **settings)
    print(f"{args.input}: {spec.shape[0]} frames -> {out}")


if __name__ == "__main__":
    main()
