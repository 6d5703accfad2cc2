"""Turn a spectrogram (.npz from gen_spec.py) into a waveform.

``--method cnn`` runs the trained CNN vocoder (one feed-forward pass,
BatchNorm in inference mode); ``griffinlim`` runs librosa's fast Griffin-Lim
(momentum 0.99, ``--n_iter``); ``pghi`` runs phase-gradient heap integration.
All three go through ``cnnvocoder.inversion.invert``.

    python cnnvocoder/synthesis.py --model_path models/cnnvocoder/model.keras \
        --spec_path output_cnnvocoder/LJ001-0001.npz --out_path output_cnnvocoder/cnn.wav
    python cnnvocoder/synthesis.py --method pghi --spec_path X.npz --out_path pghi.wav
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from cnnvocoder.config import load_config, make_config  # noqa: E402
from cnnvocoder.features import load_spec_npz  # noqa: E402
from cnnvocoder.inversion import METHODS, fast_vocoder, invert, load_vocoder  # noqa: E402
from dsp.audio import InputError, cli_main, write_wav  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--spec_path", required=True, help=".npz with 'spec' (and 'mel')")
    p.add_argument("--out_path", required=True, help="output .wav")
    p.add_argument("--method", choices=METHODS, default="cnn")
    p.add_argument("--model_path", default=None, help=".keras model (method cnn)")
    p.add_argument("--config", default=None, help="JSON configuration (griffinlim / pghi)")
    p.add_argument("--n_iter", type=int, default=32, help="Griffin-Lim iterations")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    model = None
    if args.method == "cnn":
        if not args.model_path:
            raise InputError("--method cnn needs --model_path")
        if not Path(args.model_path).is_file():
            raise InputError(f"{args.model_path}: no such model file")
    config = load_config(args.config) if args.config else make_config()
    spec = load_spec_npz(args.spec_path, "spec")
    if args.method == "cnn":
        model, config = load_vocoder(args.model_path)
        model = fast_vocoder(model)  # BN folded, compiled; built outside the timed call
        if config["input"] == "mel":
            spec = load_spec_npz(args.spec_path, "mel")
    if (args.method == "cnn" and spec.ndim == 2 and spec.shape[-1] == model.n_bins and len(spec)
            and np.issubdtype(spec.dtype, np.number) and np.all(np.isfinite(spec[:2]))):
        model(np.clip(spec[:2], 0, 1))  # trace the compiled graph outside the timed call
    t0 = time.perf_counter()
    try:
        wav = invert(spec, args.method, model=model, config=config, n_iter=args.n_iter,
                     seed=args.seed)
    except InputError as exc:
        raise InputError(f"{args.spec_path}: {exc}") from None
    dt = time.perf_counter() - t0
    Path(args.out_path).parent.mkdir(parents=True, exist_ok=True)
    write_wav(args.out_path, wav, config["sr"])
    seconds = len(wav) / config["sr"]
    print(f"{args.method}: {seconds:.2f} s of audio in {dt:.2f} s "
          f"({seconds / max(dt, 1e-9):.1f}x real time) -> {args.out_path}")


if __name__ == "__main__":
    main()
