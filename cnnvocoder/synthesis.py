"""Turn a spectrogram (.npz from cnnvocoder.gen_spec) into a waveform.

``--method cnn`` runs the trained CNN vocoder (one feed-forward pass,
BatchNorm in inference mode); ``griffinlim`` runs librosa's fast Griffin-Lim
(momentum 0.99, ``--n_iter``); ``pghi`` runs phase-gradient heap integration,
``pghi_fgla`` PGHI then fast Griffin-Lim (``--refine_iter``, default tuned).
All go through ``cnnvocoder.inversion.invert``.  A spectrogram of the wrong
shape, with NaN, all zeros or made with other STFT settings than the model's
(or the preset's) is refused with one line naming the file; nothing is written.

    python -m cnnvocoder.synthesis --model models/cnnvocoder/model.keras \
        --input output_cnnvocoder/LJ001-0001.npz --output output_cnnvocoder/cnn.wav
    python -m cnnvocoder.synthesis --method pghi --input X.npz --output pghi.wav
"""
import argparse
import time
from pathlib import Path

from cnnvocoder.config import DEFAULT_PRESET, preset_config
from cnnvocoder.features import load_spec_file
from cnnvocoder.inversion import METHODS, fast_vocoder, invert, load_vocoder
from dsp.audio import InputError, cli_main, write_wav


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnnvocoder.synthesis",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--input", required=True, help=".npz with 'spec' (and 'mel')")
    p.add_argument("--output", required=True, help="output .wav")
    p.add_argument("--method", choices=METHODS, default="cnn")
    p.add_argument("--model", default=None, help="trained .keras file (method cnn); its "
                   "configuration is read from beside it")
    p.add_argument("--preset", default=DEFAULT_PRESET,
                   help="analysis settings of griffinlim / pghi: a preset name or a .json "
                        "configuration (e.g. models/cnnvocoder/model.json)")
    p.add_argument("--n_iter", type=int, default=32, help="Griffin-Lim iterations")
    p.add_argument("--refine_iter", type=int, default=None,
                   help="fast Griffin-Lim iterations of pghi_fgla (default: the tuned count)")
    p.add_argument("--seed", type=int, default=0, help="initial / silence phase")
    return p.parse_args(argv)


def load_cnn(model_path):
    """(FastVocoder, config) of a checkpoint, built outside the timed call."""
    if not model_path:
        raise InputError("--method cnn needs --model")
    if not Path(model_path).is_file():
        raise InputError(f"{model_path}: no such model file")
    model, config = load_vocoder(model_path)
    return fast_vocoder(model, config), config


@cli_main
def main(argv=None):
    args = parse_args(argv)
    model = None
    if args.method == "cnn":
        model, config = load_cnn(args.model)
    else:
        config = preset_config(args.preset)
    # checked in full before anything runs: shape, NaN, all zeros, other STFT settings
    spec = load_spec_file(args.input, config,
                          "mel" if model and config["input"] == "mel" else "spec")
    if model is not None and spec.shape[-1] == model.n_bins:
        model(spec[:2])  # trace the compiled graph outside the timed call
    t0 = time.perf_counter()
    try:
        wav = invert(spec, args.method, model=model, config=config, n_iter=args.n_iter,
                     refine_iter=args.refine_iter, seed=args.seed)
    except InputError as exc:
        raise InputError(f"{args.input}: {exc}") from None
    dt = time.perf_counter() - t0
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    write_wav(args.output, wav, config["sr"])
    seconds = len(wav) / config["sr"]
    print(f"{args.method}: {seconds:.2f} s of audio in {dt:.2f} s "
          f"({seconds / max(dt, 1e-9):.1f}x real time) -> {args.output}")


if __name__ == "__main__":
    main()
