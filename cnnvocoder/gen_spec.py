"""Compute the CNN vocoder's spectrograms of a recording.

Writes ``-o out.npz`` with ``spec`` [frames, 1025] (normalised linear
log-magnitude), ``mel`` [frames, n_mels], ``sr`` and ``n_samples`` (the
recording is resampled to the configuration's rate, 22.05 kHz by default).

    python cnnvocoder/gen_spec.py -i data/LJ001-0001.wav -o output_cnnvocoder/LJ001-0001.npz
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from cnnvocoder.config import load_config, make_config  # noqa: E402
from cnnvocoder.features import compute_features  # noqa: E402
from dsp.audio import atomic_output, cli_main, load_audio  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-i", "--input", required=True, help="input audio file")
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument("--config", default=None,
                   help="JSON configuration (e.g. models/cnnvocoder/model.json); default: repo's")
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    config = load_config(args.config) if args.config else make_config()
    x, sr = load_audio(args.input, sr=config["sr"], min_samples=config["hop_length"])
    spec, mel = compute_features(x, config)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, spec=spec, mel=mel, sr=np.int64(sr), n_samples=np.int64(len(x)))
    print(f"{args.input}: {spec.shape[0]} frames -> {out}")


if __name__ == "__main__":
    main()
