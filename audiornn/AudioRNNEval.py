"""AudioRNN evaluation: learning curves, generated vs real audio, and baselines.

    python -m audiornn.AudioRNNEval -m models/audiornn/audiornn.keras -a output/audiornn/generated.wav

Writes into --figures_dir (default figures/):
  audiornn_training.png   training/validation loss and accuracy per epoch
                          (from <model>.log.csv), with the baselines' loss
  audiornn_generated.png  waveform and spectrogram of the generated audio
                          next to a real excerpt of the same length
and prints (and saves as <model>.eval.json) validation accuracy and
cross-entropy in bits per sample of the network, a linear-prediction
baseline and a unigram baseline, all on the same validation windows.
"""
import argparse
from pathlib import Path

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
    audio = Path(args.audio)
    if not audio.exists() and audio.with_name(f"{audio.stem}_0{audio.suffix}").exists():
        audio = audio.with_name(f"{audio.stem}_0{audio.suffix}")
    generated, _ = load_audio(audio, sr=config["samplerate"], allow_silence=True)
    # Lazy: Keras loads only after the input checks above (bad input fails fast, on one line).
    from audiornn.evaluation import report
    report(args, paths, config, generated)


if __name__ == "__main__":
    main()
