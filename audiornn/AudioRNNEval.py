"""AudioRNN evaluation: learning curves, generated vs real audio, and baselines.

    python -m audiornn.AudioRNNEval -m models/audiornn/audiornn.keras -a output/audiornn/generated.wav

Writes into --figures_dir (default figures/):
  audiornn_training.png   training/validation loss and accuracy per epoch
                          (from <model>.log.csv), with the baselines' loss
  audiornn_generated.png  waveform and spectrogram of the generated audio
                          next to a real excerpt of the same length
and prints (and saves as <model>.eval.json) accuracy and cross-entropy in
bits per sample of the network, a linear-prediction baseline and a unigram
baseline, all on the same held-out windows (--eval_dir, else the training's
validation data); and, for the generated audio (every stream file
<stem>_<k>.wav together), its level against the held-out audio's, the share
of samples at full scale and the distance of the long-term average spectra
(with --prime: for the first second of the continuation, against the prime).
"""
import argparse
from pathlib import Path

import numpy as np

from audiornn.AudioRNNData import find_wavs, prime_codes
from audiornn.checkpoint import DEFAULT_AUDIO, DEFAULT_MODEL, check_trained, model_paths
from dsp.audio import InputError, cli_main, load_audio


def build_parser():
    p = argparse.ArgumentParser(prog="python -m audiornn.AudioRNNEval",
                                description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--model", default=DEFAULT_MODEL,
                   help="best checkpoint (.keras; its configuration and log sit beside it)")
    p.add_argument("-a", "--audio", default=DEFAULT_AUDIO,
                   help="generated wav to plot (stream files <stem>_<k>.wav are found too)")
    p.add_argument("-d", "--data_dir", default=None, help="data folder (default: the training one)")
    p.add_argument("--eval_dir", default=None,
                   help="folder of held-out recordings to score on (e.g. the test split); default: "
                        "the training's --val_dir, or the validation tails of the files")
    p.add_argument("--prime", default=None,
                   help="the recording a primed generation (-a) continues: its first second after "
                        "the prime is measured against the prime")
    p.add_argument("--figures_dir", default="figures", help="folder for the PNG figures")
    p.add_argument("--val_windows", type=int, default=None,
                   help="validation windows scored (default: the training configuration's)")
    p.add_argument("--lp_order", type=int, default=16, help="linear-prediction order")
    p.add_argument("--seed", type=int, default=0, help="seed of the real excerpt's choice")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    paths = model_paths(args.model)
    config = check_trained(args.model)
    if not paths["log"].exists():
        raise InputError(f"{paths['log']}: training log not found (train first)")
    if args.eval_dir:
        find_wavs(args.eval_dir)
    audio = Path(args.audio)
    streams = sorted(audio.parent.glob(f"{audio.stem}_[0-9]*{audio.suffix}"),
                     key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    files = [audio] if audio.exists() or not streams else streams
    generated = [load_audio(f, sr=config["samplerate"], allow_silence=True)[0] for f in files]
    prime = None
    if args.prime:  # a primed generation is the prime, then the continuation
        prime = prime_codes(args.prime, config["timesteps"], config["samplerate"], config["mu"],
                            config["preemphasis"])[0]
        if any(len(g) <= len(prime) for g in generated):
            raise InputError(f"{files[0]}: not longer than the prime {args.prime}: "
                             "was it generated with --prime?")
        generated = [g[len(prime):] for g in generated]
    # Lazy: Keras loads only after the input checks above (bad input fails fast, on one line).
    from audiornn.evaluation import report
    report(args, paths, config, np.concatenate(generated), prime=prime)


if __name__ == "__main__":
    main()
