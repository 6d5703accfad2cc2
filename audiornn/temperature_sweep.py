"""Choose AudioRNN's sampling temperature on held-out audio (TensorFlow-only: generation).

    python -m audiornn.temperature_sweep -m models/audiornn/audiornn.keras \
        --temperatures 1.0 1.1 1.2 1.3 --seconds 20 [--write_config]

For every temperature, generates ``--num_streams`` streams of ``--seconds`` from
silence (as an unprimed ``-g --start silence``) and measures them against the
model's validation audio (the training's --val_dir, or the validation tails):
level difference, long-term-spectrum distance and the share of samples at full
scale (``audiornn.evaluation.audio_measures``).  The chosen temperature is the
one with the smallest ``max(|level difference|, LTAS distance)`` among those
with less than 0.1 % of samples at full scale; ``--write_config`` stores it in
the model's configuration, so ``-g`` uses it by default.  Why a sweep: a
network trained with input noise (--input_noise) has two regimes when it runs
free, silence and continuous babble, and the temperature sets how often it
moves between them; the validation audio, not the test set, decides.
Prints one line per temperature and one JSON line last.
"""
import argparse
import json

import numpy as np

from audiornn.AudioRNNData import codes_to_audio, encode_codes
from audiornn.checkpoint import check_trained, data_cache, model_paths
from audiornn.evaluation import audio_measures, held_out_audio
from audiornn.generation import StatefulGenerator, use_one_thread
from audiornn.training import load_data
from dsp.audio import InputError, cli_main
from dsp.backend import load_keras_model
from dsp.filters import dc_block
from dsp.presets import save_config

MAX_FULL_SCALE = 0.001


def generated_audio(generator, config, timesteps, seconds, n_streams, temperature, seed):
    """float [n_streams * seconds * sr]: streams generated from silence, back to back."""
    sr, mu, coef = config["samplerate"], config["mu"], config["preemphasis"]
    seeds = np.tile(encode_codes(np.zeros(timesteps, np.float32), mu=mu), (n_streams, 1))
    codes = generator(seeds, int(round(seconds * sr)), temperature, seed)
    streams = []
    for s in range(n_streams):
        audio = codes_to_audio(np.concatenate([seeds[s], codes[s]]), mu=mu, coef=coef)
        streams.append(dc_block(audio, sr, cutoff=config.get("dc_block", 40.0))[timesteps:])
    return np.concatenate(streams)


def score(measures):
    """The sweep's criterion (lower is better; inf when too much is at full scale)."""
    if measures["full_scale_fraction"] >= MAX_FULL_SCALE:
        return float("inf")
    return max(abs(measures["level_difference_db"]), measures["ltas_difference_db"])


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m audiornn.temperature_sweep",
                                description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--model", required=True, help="trained checkpoint (.keras)")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.9, 1.0, 1.1, 1.2, 1.3])
    p.add_argument("--seconds", type=float, default=20.0, help="per stream (default 20)")
    p.add_argument("--num_streams", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write_config", action="store_true",
                   help="save the chosen temperature in the model's configuration")
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    if any(t <= 0 for t in args.temperatures) or args.seconds <= 0 or args.num_streams < 1:
        raise InputError("--temperatures, --seconds and --num_streams must be positive")
    paths = model_paths(args.model)
    config = check_trained(args.model)
    use_one_thread()
    model = load_keras_model(paths["best"], "model")
    timesteps = model.input_shape[1]
    data_args = argparse.Namespace(
        data_dir=config["data_dir"], cache=data_cache(config, paths), samplerate=config["samplerate"],
        mu=config["mu"], preemphasis=config["preemphasis"], timesteps=timesteps,
        val_fraction=config["val_fraction"], val_dir=config.get("val_dir"))
    cache, _, val_idx = load_data(data_args, paths)
    reference = held_out_audio(cache, val_idx)
    generator = StatefulGenerator(model)
    results = {}
    for t in args.temperatures:
        audio = generated_audio(generator, config, timesteps, args.seconds, args.num_streams, t,
                                args.seed)
        m = audio_measures(audio, reference, config["samplerate"])
        results[t] = {k: round(float(v), 4) for k, v in m.items()}
        print(f"temperature {t:.3g}: level {m['level_difference_db']:+.1f} dB, LTAS "
              f"{m['ltas_difference_db']:.1f} dB, full scale {100 * m['full_scale_fraction']:.3f} %",
              flush=True)
    best = min(results, key=lambda t: score(results[t]))
    if args.write_config:
        save_config(paths["config"], {**config, "temperature": best})
    print(json.dumps({"chosen_temperature": best, "held_out": config.get("val_dir") or "tails",
                      "results": {str(t): r for t, r in results.items()}}))
    return best


if __name__ == "__main__":
    main()
