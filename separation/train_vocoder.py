"""Train the mel-conditioned WaveNet vocoder on (mel, waveform) windows cut on the fly.

Data: any speech folder. A folder with ``metadata.csv`` is read in the LJSpeech
layout (``corpus.readers.read_ljspeech``), otherwise every audio file below it
(``corpus.readers.list_wavs``). Audio is resampled to the model rate (22.05 kHz);
the 80-band log-mel (``dsp.spectral.log_mel_spectrogram``) of every utterance is
computed once, and each batch cuts windows at random frame offsets. Without
``--data_dir`` a synthetic corpus (``corpus.synth.make_corpus``, 22.05 kHz) is
made under ``data/wavenet_synth``.

Outputs in ``--out_dir``: ``ckpt/latest.keras`` + ``ckpt/latest.json``
(config, epoch; atomic, used by ``--resume``), ``vocoder.keras`` + ``vocoder.json``
(final), ``log.csv``, ``tb/`` (TensorBoard), ``samples/epoch_NNNN.wav`` and
``samples/epoch_NNNN.png`` (generated vs real waveform and mel).

Example:
    python separation/train_vocoder.py --epochs 20 --steps_per_epoch 100
    python separation/train_vocoder.py --data_dir LJSpeech-1.1 --config paper --out_dir models/wavenet_lj --resume
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from dsp.audio import InputError, cli_main, notice  # noqa: E402

DEFAULT_SYNTH_DIR = Path("data/wavenet_synth")


def build_parser():
    p = argparse.ArgumentParser(description="Train the WaveNet vocoder (mel -> waveform).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data_dir", default=None,
                   help=f"speech folder (LJSpeech layout or any wav folder); default: synthetic corpus in {DEFAULT_SYNTH_DIR}")
    p.add_argument("--synth_minutes", type=float, default=3.0, help="size of the synthetic corpus made when --data_dir is not given")
    p.add_argument("--out_dir", default="models/wavenet")
    p.add_argument("--config", choices=["default", "paper"], default="default", help="model preset")
    p.add_argument("--output", choices=["mulaw256", "mol"], default=None, help="override the preset's output distribution")
    p.add_argument("--upsample", choices=["transposed", "repeat"], default=None, help="override the conditioning upsampler")
    p.add_argument("--n_layers", type=int, default=None)
    p.add_argument("--n_stacks", type=int, default=None)
    p.add_argument("--residual_channels", type=int, default=None)
    p.add_argument("--speaker_regex", default=None,
                   help="global conditioning: regex on file stems whose group 1 names the speaker (e.g. '^syn_(spk\\d+)_')")
    p.add_argument("--n_speakers", type=int, default=0,
                   help="global conditioning table size (>= the speakers found by --speaker_regex); 0 = none")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps_per_epoch", type=int, default=100)
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--window_frames", type=int, default=8, help="mel frames per training window (x hop samples)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max_files", type=int, default=None, help="use only the first N files")
    p.add_argument("--sample_every", type=int, default=5, help="epochs between audio samples/figures (0: only at the end)")
    p.add_argument("--sample_frames", type=int, default=40, help="mel frames vocoded for each sample")
    p.add_argument("--max_minutes", type=float, default=None, help="stop after the epoch that exceeds this training time")
    p.add_argument("--final", default=None, help="where to write the trained vocoder (default: out_dir/vocoder.keras)")
    p.add_argument("--resume", action="store_true", help="continue from out_dir/ckpt/latest.keras if present")
    p.add_argument("--seed", type=int, default=0)
    return p


def make_config(args):
    from separation.wavenet import WaveNetConfig
    overrides = {k: getattr(args, k) for k in ("output", "upsample", "n_layers", "n_stacks", "residual_channels")
                 if getattr(args, k) is not None}
    if args.n_speakers:
        overrides["n_speakers"] = args.n_speakers
    if "residual_channels" in overrides:
        overrides.setdefault("gate_channels", 2 * overrides["residual_channels"])
        overrides.setdefault("skip_channels", overrides["residual_channels"])
    return WaveNetConfig.default(**overrides) if args.config == "default" else WaveNetConfig.paper(**overrides)


# ------------------------------------------------------------------------------ data
def list_speech_files(data_dir):
    """Audio files of a speech folder: LJSpeech layout if ``metadata.csv`` exists, else all wavs below."""
    from corpus.readers import list_wavs, read_ljspeech
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data folder does not exist")
    if (data_dir / "metadata.csv").is_file():
        return [path for _, path, _ in read_ljspeech(data_dir)]
    return list_wavs(data_dir)


def speaker_ids(files, pattern):
    """Speaker id per file from a regex on the file stem (group 1, else the whole match) -> (ids, names)."""
    import re
    rx = re.compile(pattern)
    names = []
    for path in files:
        m = rx.search(Path(path).stem)
        if m is None:
            raise InputError(f"{path}: file name does not match --speaker_regex {pattern!r}")
        names.append(m.group(1) if rx.groups else m.group(0))
    table = sorted(set(names))
    return [table.index(n) for n in names], table


def load_utterances(files, cfg, min_frames, progress=True, speakers=None):
    """Load, resample and analyse files -> list of ``(wav [frames*hop] float32, mel [frames, n_mels], speaker)``.

    ``speaker`` is ``speakers[i]`` (an int id) or None; files shorter than ``min_frames`` are skipped (notice).
    """
    from dsp.audio import load_audio
    from dsp.spectral import log_mel_spectrogram
    utts, short = [], []
    iterator = files
    if progress:
        from tqdm import tqdm
        iterator = tqdm(files, desc="mel features", unit="file", leave=False)
    for i, path in enumerate(iterator):
        x, _ = load_audio(path, sr=cfg.sample_rate)
        peak = np.abs(x).max()
        if peak > 1.0:
            x = x / peak
        frames = len(x) // cfg.hop
        if frames < min_frames:
            short.append(path)
            continue
        mel = log_mel_spectrogram(x, cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop, n_mels=cfg.n_mels,
                                  fmin=cfg.mel_fmin, fmax=cfg.mel_fmax, ref_level_db=cfg.ref_level_db,
                                  min_level_db=cfg.min_level_db)[:frames].astype(np.float32)
        utts.append((x[:frames * cfg.hop].astype(np.float32), mel, None if speakers is None else int(speakers[i])))
    if short:
        notice(f"skipped {len(short)} file(s) shorter than {min_frames} frames, e.g. {short[0]}")
    if not utts:
        raise InputError(f"no usable utterance (need at least {min_frames} frames of {cfg.hop} samples)")
    return utts


def _window_dataset_class():
    import keras
    from separation.wavenet import make_training_pair

    class WindowDataset(keras.utils.PyDataset):
        """Random (mel, waveform) windows; batch ``i`` of epoch ``e`` is a deterministic function of (seed, e, i).

        Yields ``({"audio": [B, W*hop, 1], "mel": [B, W, n_mels]} (+ "speaker": [B, 1]), target [B, W*hop])``.
        """

        def __init__(self, utts, cfg, batch_size, window_frames, steps, seed=0, **kwargs):
            super().__init__(**kwargs)
            self.utts, self.cfg = utts, cfg
            self.batch_size, self.window_frames, self.steps, self.seed = batch_size, window_frames, steps, seed
            lengths = np.array([len(u[1]) - window_frames + 1 for u in utts], np.float64)
            self.weights = lengths / lengths.sum()
            self.epoch = 0

        def __len__(self):
            return self.steps

        def __getitem__(self, idx):
            rng = np.random.default_rng([self.seed, self.epoch, idx])
            hop, w = self.cfg.hop, self.window_frames
            mels, wavs, prevs, spks = [], [], [], []
            for u in rng.choice(len(self.utts), size=self.batch_size, p=self.weights):
                wav, mel, spk = self.utts[u]
                spks.append(spk)
                f0 = int(rng.integers(0, len(mel) - w + 1))
                mels.append(mel[f0:f0 + w])
                wavs.append(wav[f0 * hop:(f0 + w) * hop])
                prevs.append(wav[f0 * hop - 1] if f0 else 0.0)
            audio_in, target = make_training_pair(np.stack(wavs), self.cfg, previous=np.array(prevs, np.float32))
            x = {"audio": audio_in, "mel": np.stack(mels)}
            if self.cfg.n_speakers > 0:
                x["speaker"] = np.array(spks, np.int32)[:, None]
            return x, target

        def on_epoch_end(self):
            self.epoch += 1

    return WindowDataset


def pick_reference(utt, n_frames, hop):
    """The loudest ``n_frames`` of an utterance (by mean log-mel), as ``(wav, mel)`` for the sample callback."""
    wav, mel = utt[0], utt[1]
    n = min(n_frames, len(mel))
    energy = np.convolve(mel.mean(axis=1), np.ones(n), mode="valid")
    f0 = int(np.argmax(energy))
    return wav[f0 * hop:(f0 + n) * hop], mel[f0:f0 + n], utt[2] if len(utt) > 2 else None


# ------------------------------------------------------------------------------ callbacks
def plot_sample(real, fake, cfg, png_path, title):
    """Waveforms and log-mels of real vs generated audio, written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dsp.audio import atomic_output
    from dsp.spectral import log_mel_spectrogram
    fig, axes = plt.subplots(2, 2, figsize=(12, 6), sharex="col")
    t = np.arange(len(real)) / cfg.sample_rate
    for col, (name, x) in enumerate((("real", real), ("generated", fake))):
        axes[0, col].plot(t, x, lw=0.4)
        axes[0, col].set_title(f"{name} waveform")
        lim = 1.05 * max(np.abs(real).max(), np.abs(fake).max(), 1e-3)
        axes[0, col].set_ylim(-lim, lim)
        mel = log_mel_spectrogram(x, cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop, n_mels=cfg.n_mels,
                                  fmin=cfg.mel_fmin, fmax=cfg.mel_fmax)
        axes[1, col].imshow(mel.T, origin="lower", aspect="auto", vmin=0, vmax=1,
                            extent=[0, len(x) / cfg.sample_rate, 0, cfg.n_mels])
        axes[1, col].set_title(f"{name} log-mel (normalised)")
        axes[1, col].set_xlabel("time (s)")
    axes[1, 0].set_ylabel("mel band")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_output(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def _callbacks(cfg, args, out_dir, reference, initial_epoch):
    import keras

    from dsp.audio import write_wav
    from separation.wavenet import save_vocoder
    from separation.wavenet_fast import vocode

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            save_vocoder(self.model, cfg, out_dir / "ckpt" / "latest.keras",
                         extra={"epoch": epoch + 1, "loss": float((logs or {}).get("loss", np.nan))})

    class Samples(keras.callbacks.Callback):
        def __init__(self, every, last_epoch):
            super().__init__()
            self.every, self.last_epoch = every, last_epoch

        def on_epoch_end(self, epoch, logs=None):
            n = epoch + 1
            if n != self.last_epoch and not self.model.stop_training and (not self.every or n % self.every):
                return
            wav, mel, speaker = reference
            fake = vocode(self.model, cfg, mel, seed=args.seed, progress=True, speaker=speaker)
            stem = out_dir / "samples" / f"epoch_{n:04d}"
            write_wav(stem.with_suffix(".wav"), fake, cfg.sample_rate)
            plot_sample(wav, fake, cfg, stem.with_suffix(".png"),
                        f"WaveNet vocoder, epoch {n}, loss {float((logs or {}).get('loss', np.nan)):.3f}")
            print(f"\nwrote {stem}.wav and {stem}.png", flush=True)

    class TimeBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.t0 = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            if args.max_minutes is not None and time.monotonic() - self.t0 > 60 * args.max_minutes:
                print(f"\n--max_minutes {args.max_minutes} reached after epoch {epoch + 1}; stopping", flush=True)
                self.model.stop_training = True

    (out_dir / "samples").mkdir(parents=True, exist_ok=True)
    callbacks = [TimeBudget(), keras.callbacks.CSVLogger(str(out_dir / "log.csv"), append=initial_epoch > 0),
                 keras.callbacks.TerminateOnNaN(), Checkpoint(), Samples(args.sample_every, args.epochs)]
    try:
        import tensorboard  # noqa: F401  (keras' TensorBoard callback needs the package)
        callbacks.insert(1, keras.callbacks.TensorBoard(str(out_dir / "tb"), update_freq="epoch", write_graph=False))
    except ImportError:
        notice("tensorboard is not installed: TensorBoard logs disabled (log.csv is still written)")
    return callbacks


# ------------------------------------------------------------------------------ main
@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    for name in ("epochs", "steps_per_epoch", "batch_size", "window_frames", "sample_frames"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be >= 1, got {getattr(args, name)}")
    files = None
    if args.data_dir is not None:   # fail on a bad data folder before anything is built or written
        files = list_speech_files(args.data_dir)[:args.max_files]
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(out_dir, os.W_OK):
        raise InputError(f"{out_dir}: output folder is not writable")

    import keras

    from separation.wavenet import build_wavenet, load_vocoder, make_loss, receptive_field, save_vocoder

    keras.utils.set_random_seed(args.seed)
    latest = out_dir / "ckpt" / "latest.keras"
    initial_epoch = 0
    if args.resume and latest.is_file():
        model, cfg = load_vocoder(latest, compile=True)
        initial_epoch = int(json.loads(latest.with_suffix(".json").read_text()).get("epoch", 0))
        print(f"resuming from {latest} at epoch {initial_epoch} (the checkpoint's config wins)", flush=True)
    else:
        if args.resume:
            notice(f"{latest}: no checkpoint yet, starting from scratch")
        cfg = make_config(args)
        model = build_wavenet(cfg)
        model.compile(optimizer=keras.optimizers.Adam(args.lr, clipnorm=1.0), loss=make_loss(cfg),
                      jit_compile=False)
    final_path = Path(args.final) if args.final else out_dir / "vocoder.keras"
    if initial_epoch >= args.epochs:
        print(f"already trained for {initial_epoch} >= {args.epochs} epochs; nothing to do")
        if not final_path.is_file():
            save_vocoder(model, cfg, final_path, extra={"epoch": initial_epoch})
            print(f"saved {final_path}")
        return 0

    data_dir = Path(args.data_dir) if args.data_dir is not None else DEFAULT_SYNTH_DIR
    if files is None:
        if not (data_dir / "metadata.csv").is_file():
            from corpus.synth import make_corpus
            print(f"making a {args.synth_minutes}-minute synthetic corpus at {cfg.sample_rate} Hz in {data_dir}",
                  flush=True)
            make_corpus(data_dir, minutes=args.synth_minutes, sr=cfg.sample_rate, seed=args.seed, progress=True)
        files = list_speech_files(data_dir)[:args.max_files]
    speakers = None
    if args.speaker_regex and cfg.n_speakers == 0:
        raise InputError("--speaker_regex needs a globally conditioned model: give --n_speakers N")
    if cfg.n_speakers > 0:
        if not args.speaker_regex:
            raise InputError("this vocoder is globally conditioned (n_speakers > 0): give --speaker_regex")
        speakers, names = speaker_ids(files, args.speaker_regex)
        if len(names) > cfg.n_speakers:
            raise InputError(f"{len(names)} speakers in {data_dir} but the model has {cfg.n_speakers}")
        (out_dir / "speakers.json").write_text(json.dumps(names, indent=2))
        print(f"global conditioning on {len(names)} speakers: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
    utts = load_utterances(files, cfg, min_frames=args.window_frames + 1, speakers=speakers)
    reference = pick_reference(utts[0], args.sample_frames, cfg.hop)
    (out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    total_s = sum(len(u[0]) for u in utts) / cfg.sample_rate
    print(f"{len(utts)} utterances ({total_s / 60:.1f} min) from {data_dir}; model {model.count_params():,} params, "
          f"receptive field {receptive_field(cfg)} samples ({1000 * receptive_field(cfg) / cfg.sample_rate:.0f} ms), "
          f"output {cfg.output}, upsample {cfg.upsample}", flush=True)

    dataset = _window_dataset_class()(utts, cfg, args.batch_size, args.window_frames, args.steps_per_epoch,
                                      seed=args.seed)
    dataset.epoch = initial_epoch
    history = model.fit(dataset, epochs=args.epochs, initial_epoch=initial_epoch,
                        verbose=2 if not sys.stdout.isatty() else 1,
                        callbacks=_callbacks(cfg, args, out_dir, reference, initial_epoch))
    done = initial_epoch + len(history.history.get("loss", []))
    final = save_vocoder(model, cfg, final_path, extra={"epoch": done})
    print(f"saved {final} (+ {final.with_suffix('.json').name}); log {out_dir / 'log.csv'}; samples in {out_dir / 'samples'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
