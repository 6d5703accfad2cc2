"""Training of the mel-conditioned WaveNet vocoder (the library behind ``python -m wavenet.train``).

Runs on any Keras backend (`model.fit` on a `keras.utils.PyDataset`; no TensorFlow-only code).

Data: speech folders. A folder with ``metadata.csv`` is read in the LJSpeech
layout (``corpus.readers.read_ljspeech``), otherwise every audio file below it
(``corpus.readers.list_wavs``); ``--val_fraction`` of each folder's files is held
out for a validation curve (``split.json``, kept on resume). Audio is resampled to
the model rate (``cfg.sample_rate``); the 80-band log-mel (`wavenet.features.log_mel`) of every utterance is computed
once, and each batch cuts (mel, waveform) windows at random frame offsets. Without
a data folder a synthetic corpus (``corpus.synth.make_corpus``, 22.05 kHz) is
made under ``data/wavenet_synth``.

Outputs in the run folder: ``ckpt/latest.keras`` + ``ckpt/latest.json`` (model
config, epoch, loss and the resolved command-line ``args``; atomic; resumed from),
the final ``vocoder.keras`` + ``vocoder.json``, ``config.json`` (the resolved
flags: reusable as ``--preset run/config.json``), ``split.json``, ``log.csv`` (loss, val_loss), ``tb/``
(TensorBoard), ``samples/epoch_NNNN.wav`` and ``.png`` (generated vs real).
"""
import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from corpus.readers import list_wavs, read_ljspeech
from corpus.synth import make_corpus
from dsp.audio import (AudioTooShortError, InputError, atomic_output, load_audio, notice, write_json,
                       write_wav)
from dsp.distribute import distributed_training
from dsp.presets import save_config, to_jsonable
from dsp.replicas import any_worker
from dsp.resume import EpochSync, checkpoint_state, resumed_csv_logger
from wavenet.features import log_mel
from wavenet.generation import vocode
from wavenet.model import (WaveNetConfig, build_wavenet, grow_frame_net, inject_input_noise, load_vocoder,
                           load_vocoder_meta, make_loss, make_training_pair, receptive_field, save_vocoder)
from wavenet.noise_shaping import residual_of, waveform_of
from wavenet.optimizers import averaged_weights, make_optimizer, optimizer_matches, replace_optimizer, warm_start

DEFAULT_SYNTH_DIR = Path("data/wavenet_synth")
# Command-line flags that are WaveNetConfig fields (None: the preset's value, else the field default).
MODEL_FLAGS = ("n_layers", "n_stacks", "kernel_size", "residual_channels", "gate_channels", "skip_channels",
               "output", "n_mixtures", "upsample", "upsample_scales", "n_speakers", "global_channels",
               "sample_rate", "hop", "n_fft", "mel_fmin", "mel_fmax", "noise_shaping", "lpc_order", "lpc_gamma",
               "frame_layers", "frame_channels", "frame_kernel")


def make_config(args):
    """The WaveNetConfig of a fresh run: ``args.preset`` with the model flags given on top.

    ``gate_channels`` / ``skip_channels`` that neither the preset nor a flag sets follow
    ``residual_channels`` (2x and 1x), so ``--residual_channels 8`` alone makes a narrow net.
    """
    overrides = {k: getattr(args, k) for k in MODEL_FLAGS if getattr(args, k, None) is not None}
    if "residual_channels" in overrides:
        overrides.setdefault("gate_channels", 2 * overrides["residual_channels"])
        overrides.setdefault("skip_channels", overrides["residual_channels"])
    return WaveNetConfig.from_preset(args.preset, **overrides)


# ------------------------------------------------------------------------------ data
def list_speech_files(data_dir):
    """Audio files of a speech folder: LJSpeech layout if ``metadata.csv`` exists, else all wavs below."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data folder does not exist")
    if (data_dir / "metadata.csv").is_file():
        return [path for _, path, _ in read_ljspeech(data_dir)]
    return list_wavs(data_dir)


def speaker_ids(files, pattern):
    """Speaker id per file from a regex on the file stem (group 1, else the whole match) -> (ids, names)."""
    rx = re.compile(pattern)
    names = []
    for path in files:
        m = rx.search(Path(path).stem)
        if m is None:
            raise InputError(f"{path}: file name does not match --speaker_regex {pattern!r}")
        names.append(m.group(1) if rx.groups else m.group(0))
    table = sorted(set(names))
    return [table.index(n) for n in names], table


def split_files(files_by_dir, val_fraction, seed):
    """Hold out ``val_fraction`` of each folder's files (at least one when the folder has two or more).

    Args:
        files_by_dir: list of lists of paths, one list per ``--data_dir`` folder.
    Returns:
        ``(train, val)``: lists of str paths, deterministic given ``seed``.
    """
    train, val = [], []
    for i, files in enumerate(files_by_dir):
        order = np.random.default_rng([seed, i]).permutation(len(files))
        n_val = int(round(val_fraction * len(files)))
        if val_fraction > 0 and len(files) >= 2:
            n_val = min(max(n_val, 1), len(files) - 1)
        val += [str(files[k]) for k in sorted(order[:n_val])]
        train += [str(files[k]) for k in sorted(order[n_val:])]
    return train, val


def load_or_make_split(out_dir, files_by_dir, val_fraction, seed, resume):
    """The run's file split: ``OUT_DIR/split.json`` when resuming (so validation files stay unseen), else new.

    A new split is not written here: `train` saves it once the files have been read, so a
    run refused for a bad file leaves nothing behind.
    """
    path = out_dir / "split.json"
    if resume and path.is_file():
        split = json.loads(path.read_text())
        print(f"using the saved split {path}: {len(split['train'])} training, {len(split['val'])} validation files",
              flush=True)
        return split["train"], split["val"]
    return split_files(files_by_dir, val_fraction, seed)


def load_utterances(files, cfg, min_frames, progress=True, speakers=None):
    """Load, resample and analyse files -> list of ``(wav [frames*hop] float32, mel [frames, n_mels], speaker)``.

    ``speaker`` is ``speakers[i]`` (an int id) or None; files shorter than ``min_frames`` are skipped (notice).
    With ``cfg.noise_shaping`` the ``wav`` is the LPC residual the network models
    (`wavenet.noise_shaping.residual_of`; `waveform_of` goes back); the mel is the audio's own.
    """
    utts, short = [], []
    for i, path in enumerate(tqdm(files, desc="mel features", unit="file", leave=False, disable=not progress)):
        try:
            x, _ = load_audio(path, sr=cfg.sample_rate, min_samples=min_frames * cfg.hop)
        except AudioTooShortError:
            short.append(path)
            continue
        peak = np.abs(x).max()
        if peak > 1.0:
            x = x / peak
        frames = len(x) // cfg.hop
        wav, mel = x[:frames * cfg.hop].astype(np.float32), log_mel(x, cfg)
        if cfg.noise_shaping:
            wav = residual_of(wav, mel, cfg)
        utts.append((wav, mel, None if speakers is None else int(speakers[i])))
    if not utts:
        others = f" (as are the other {len(short) - 1} files)" if len(short) > 1 else ""
        raise InputError(f"{short[0]}: too short to train on: need at least {min_frames} frames of "
                         f"{cfg.hop} samples at {cfg.sample_rate} Hz{others}")
    if short:
        notice(f"skipped {len(short)} file(s) shorter than {min_frames} frames, e.g. {short[0]}")
    return utts


class WindowDataset(keras.utils.PyDataset):
    """Random (mel, waveform) windows; batch ``i`` of epoch ``e`` is a deterministic function of (seed, e, i).

    ``epoch`` is set by `dsp.resume.EpochSync` at the start of every epoch of ``fit``.

    Yields ``({"audio": [B, W*hop, 1], "mel": [B, W, n_mels]} (+ "speaker": [B, 1]), target [B, W*hop])``.
    """

    def __init__(self, utts, cfg, batch_size, window_frames, steps, seed=0, input_noise=0.0, **kwargs):
        super().__init__(**kwargs)
        self.utts, self.cfg, self.input_noise = utts, cfg, input_noise   # µ-law steps; see inject_input_noise
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
        if self.input_noise:   # drawn after the windows: the same windows as without it
            audio_in = inject_input_noise(audio_in, self.input_noise, rng)
        x = {"audio": audio_in, "mel": np.stack(mels)}
        if self.cfg.n_speakers > 0:
            x["speaker"] = np.array(spks, np.int32)[:, None]
        return x, target


class FixedWindows(WindowDataset):
    """The same windows every epoch (validation: ``val_loss`` curves comparable across epochs; no `EpochSync`)."""


def pick_reference(utt, n_frames, hop):
    """The loudest ``n_frames`` of an utterance (by mean log-mel), as ``(wav, mel, speaker)`` for the samples."""
    wav, mel = utt[0], utt[1]
    n = min(n_frames, len(mel))
    energy = np.convolve(mel.mean(axis=1), np.ones(n), mode="valid")
    f0 = int(np.argmax(energy))
    return wav[f0 * hop:(f0 + n) * hop], mel[f0:f0 + n], utt[2] if len(utt) > 2 else None


# ------------------------------------------------------------------------------ callbacks
def plot_sample(real, fake, cfg, png_path, title):
    """Waveforms and log-mels of real vs generated audio, written atomically."""
    fig = Figure(figsize=(12, 6))
    axes = fig.subplots(2, 2, sharex="col")
    t = np.arange(len(real)) / cfg.sample_rate
    lim = 1.05 * max(np.abs(real).max(), np.abs(fake).max(), 1e-3)
    for col, (name, x) in enumerate((("real", real), ("generated", fake))):
        axes[0, col].plot(t, x, lw=0.4)
        axes[0, col].set_title(f"{name} waveform")
        axes[0, col].set_ylim(-lim, lim)
        axes[1, col].imshow(log_mel(x, cfg, whole_hops=False).T, origin="lower", aspect="auto", vmin=0, vmax=1,
                            extent=[0, len(x) / cfg.sample_rate, 0, cfg.n_mels])
        axes[1, col].set_title(f"{name} log-mel (normalised)")
        axes[1, col].set_xlabel("time (s)")
    axes[1, 0].set_ylabel("mel band")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_output(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)


class Checkpoint(keras.callbacks.Callback):
    """After every epoch: ``ckpt/latest.keras`` + ``.json`` (config, epoch, loss, resolved args) to resume from,
    and with ``--ema`` also ``ckpt/ema.keras``, the averaged weights a user would vocode with."""

    def __init__(self, cfg, path, args):
        super().__init__()
        self.cfg, self.path, self.args = cfg, path, args

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        extra = {"epoch": epoch + 1, "loss": float(logs.get("loss", np.nan)),
                 "val_loss": float(logs.get("val_loss", np.nan)), "args": to_jsonable(self.args)}
        with averaged_weights(self.model) as averaged:   # the average first: latest.keras is the resume point
            if averaged:
                save_vocoder(self.model, self.cfg, self.path.with_name("ema.keras"), extra=extra)
        save_vocoder(self.model, self.cfg, self.path, extra=extra)


class Samples(keras.callbacks.Callback):
    """Vocode the reference mel every ``every`` epochs (0: only the last) -> ``samples/epoch_NNNN.{wav,png}``."""

    def __init__(self, cfg, reference, folder, every, last_epoch, seed):
        super().__init__()
        self.cfg, self.reference, self.folder = cfg, reference, Path(folder)
        self.every, self.last_epoch, self.seed = every, last_epoch, seed

    def on_epoch_end(self, epoch, logs=None):
        n = epoch + 1
        if n != self.last_epoch and not self.model.stop_training and (not self.every or n % self.every):
            return
        wav, mel, speaker = self.reference
        with averaged_weights(self.model):
            fake = vocode(self.model, self.cfg, mel, seed=self.seed, progress=True, speaker=speaker)
        stem = self.folder / f"epoch_{n:04d}"
        write_wav(stem.with_suffix(".wav"), fake, self.cfg.sample_rate)
        plot_sample(wav, fake, self.cfg, stem.with_suffix(".png"),
                    f"WaveNet vocoder, epoch {n}, loss {float((logs or {}).get('loss', np.nan)):.3f}")
        print(f"\nwrote {stem}.wav and {stem}.png", flush=True)


class TimeBudget(keras.callbacks.Callback):
    """Stop after the first epoch that ends past ``max_minutes`` of training (None: no limit)."""

    def __init__(self, max_minutes):
        super().__init__()
        self.max_minutes = max_minutes

    def on_train_begin(self, logs=None):
        self.t0 = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        # any_worker: under multi_worker all workers stop after the same epoch (none waits for a stopped peer)
        if self.max_minutes is not None and any_worker(time.monotonic() - self.t0 > 60 * self.max_minutes):
            print(f"\n--max_minutes {self.max_minutes} reached after epoch {epoch + 1}; stopping", flush=True)
            self.model.stop_training = True


def make_callbacks(cfg, args, out_dir, reference, initial_epoch, dataset):
    """Time budget, TensorBoard (if installed), CSV log, NaN stop, checkpoint, samples."""
    (out_dir / "samples").mkdir(parents=True, exist_ok=True)
    callbacks = [EpochSync(dataset), TimeBudget(args.max_minutes),
                 resumed_csv_logger(out_dir / "log.csv", initial_epoch),   # trimmed to the checkpoint's epochs
                 keras.callbacks.TerminateOnNaN(), Checkpoint(cfg, out_dir / "ckpt" / "latest.keras", args),
                 Samples(cfg, reference, out_dir / "samples", args.sample_every, args.epochs, args.seed)]
    if importlib.util.find_spec("tensorboard") is not None:   # keras' TensorBoard callback needs the package
        callbacks.insert(1, keras.callbacks.TensorBoard(str(out_dir / "tb"), update_freq="epoch", write_graph=False))
    else:
        notice("tensorboard is not installed: TensorBoard logs disabled (log.csv is still written)")
    return callbacks


# ------------------------------------------------------------------------------ the run
def open_model(args, out_dir):
    """``(model, cfg, initial_epoch)``: resumed from ``out_dir/ckpt/latest.keras`` (if ``args.resume``), else new.

    On resume the checkpoint's model configuration wins. Either way ``args``' model flags are
    set to the model's configuration, so the saved resolved flags describe the model trained.
    """
    latest = out_dir / "ckpt" / "latest.keras"
    if args.resume and latest.is_file():
        model, cfg = load_vocoder(latest, compile=True)
        initial_epoch = int((checkpoint_state(latest) or load_vocoder_meta(latest)).get("epoch", 0))  # dsp.resume
        print(f"resuming from {latest} at epoch {initial_epoch} (the checkpoint's config wins)", flush=True)
        if not optimizer_matches(model.optimizer, args):
            replace_optimizer(model, cfg, args)
            notice(f"{latest}: optimizer changed to lr {args.lr} halved every {args.lr_halve_every or 'never'} "
                   f"steps, EMA {args.ema or 'off'} (Adam's moments and step count kept)")
    elif args.init_from:   # exported weights (no optimizer state): compiled by warm_start once data exists
        model, cfg = load_vocoder(args.init_from)
        initial_epoch = int(load_vocoder_meta(args.init_from).get("epoch", 0))
        if args.frame_layers and not cfg.frame_layers:   # same function at first; see grow_frame_net
            model, cfg = grow_frame_net(model, cfg, args.frame_layers, args.frame_channels or 128,
                                        args.frame_kernel or 3)
            print(f"added a frame network ({cfg.frame_layers} x {cfg.frame_channels} channels)", flush=True)
        print(f"starting from the weights of {args.init_from} (epoch {initial_epoch}; its config wins); "
              f"Adam's moments are first estimated over {args.warm_steps} steps at learning rate 0", flush=True)
    else:
        if args.resume:
            print(f"{latest}: no checkpoint yet, starting from scratch", flush=True)
        cfg = make_config(args)
        model = build_wavenet(cfg)
        model.compile(optimizer=make_optimizer(args), loss=make_loss(cfg), jit_compile=False)
        initial_epoch = 0
    for k in MODEL_FLAGS:   # the resolved configuration names the model actually trained
        setattr(args, k, getattr(cfg, k))
    return model, cfg, initial_epoch


def speech_files(args):
    """Files of each ``--data_dir`` folder (first ``--max_files`` each); the synthetic corpus, made if missing."""
    if args.data_dir is None:
        if not (DEFAULT_SYNTH_DIR / "metadata.csv").is_file():
            print(f"making a {args.synth_minutes}-minute synthetic corpus in {DEFAULT_SYNTH_DIR}", flush=True)
            make_corpus(DEFAULT_SYNTH_DIR, minutes=args.synth_minutes, sr=22050, seed=args.seed, progress=True)
        return [list_speech_files(DEFAULT_SYNTH_DIR)[:args.max_files]]
    return [list_speech_files(d)[:args.max_files] for d in args.data_dir]


def speakers_of(args, cfg, files, out_dir):
    """Speaker ids of ``files`` for a globally conditioned model (None otherwise); names in speakers.json."""
    if args.speaker_regex and cfg.n_speakers == 0:
        raise InputError("--speaker_regex needs a globally conditioned model: give --n_speakers N")
    if cfg.n_speakers == 0:
        return None
    if not args.speaker_regex:
        raise InputError("this vocoder is globally conditioned (n_speakers > 0): give --speaker_regex")
    speakers, names = speaker_ids(files, args.speaker_regex)
    if len(names) > cfg.n_speakers:
        raise InputError(f"{len(names)} speakers in the data but the model has {cfg.n_speakers}")
    write_json(out_dir / "speakers.json", names)
    print(f"global conditioning on {len(names)} speakers: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
    return speakers


def training_data(args, cfg, train_files, val_files, out_dir):
    """``(train_utts, val_utts)`` of the split (``val_utts`` empty when nothing is held out)."""
    speakers = speakers_of(args, cfg, train_files + val_files, out_dir)
    n = len(train_files)
    utts = load_utterances(train_files, cfg, min_frames=args.window_frames + 1,
                           speakers=None if speakers is None else speakers[:n])
    val = []
    if val_files:
        try:
            val = load_utterances(val_files, cfg, min_frames=args.window_frames + 1,
                                  speakers=None if speakers is None else speakers[n:])
        except InputError as exc:   # all held-out files too short: train without a validation curve
            notice(f"validation: {exc}; no val_loss this run")
    minutes = [sum(len(u[0]) for u in x) / cfg.sample_rate / 60 for x in (utts, val)]
    print(f"{len(utts)} training utterances ({minutes[0]:.1f} min), {len(val)} validation "
          f"({minutes[1]:.1f} min)", flush=True)
    return utts, val


def train(args):
    """Train (or resume) the vocoder described by the resolved flags ``args`` (see ``wavenet.train``).

    With ``args.distribute`` (`dsp.distribute`) the whole run happens in the strategy's scope
    and only the chief writes to ``out_dir`` / ``final``.

    Returns:
        Path of the final vocoder (``args.final`` or ``out_dir/vocoder.keras``).
    """
    with distributed_training(args, ("out_dir", "final")) as dist:
        print(dist.describe(args.batch_size), flush=True)
        return _train(args)


def _train(args):
    files_by_dir = speech_files(args)   # fail on a bad data folder before anything is built or written
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(out_dir, os.W_OK):
        raise InputError(f"{out_dir}: output folder is not writable")
    keras.utils.set_random_seed(args.seed)
    model, cfg, initial_epoch = open_model(args, out_dir)
    if args.input_noise and cfg.output != "mulaw256":   # before the split, config or log are written
        raise InputError(f"--input_noise needs the mulaw256 output; this model's is {cfg.output}")
    final_path = Path(args.final) if args.final else out_dir / "vocoder.keras"
    if initial_epoch >= args.epochs:
        print(f"already trained for {initial_epoch} >= {args.epochs} epochs; nothing to do")
        if not final_path.is_file():
            save_vocoder(model, cfg, final_path, extra={"epoch": initial_epoch, "args": to_jsonable(args)})
            print(f"saved {final_path}")
        return final_path

    train_files, val_files = load_or_make_split(out_dir, files_by_dir, args.val_fraction, args.seed,
                                                args.resume and initial_epoch > 0)
    utts, val_utts = training_data(args, cfg, train_files, val_files, out_dir)
    write_json(out_dir / "split.json", {"train": train_files, "val": val_files})
    ref = (val_utts or utts)[0]
    if cfg.noise_shaping:   # the samples' "real" panel shows the audio, not the residual
        ref = (waveform_of(ref[0], ref[1], cfg),) + tuple(ref[1:])
    reference = pick_reference(ref, args.sample_frames, cfg.hop)
    save_config(out_dir / "config.json", args)
    rf = receptive_field(cfg)
    print(f"model {model.count_params():,} params, receptive field {rf} samples "
          f"({1000 * rf / cfg.sample_rate:.0f} ms), output {cfg.output}, upsample {cfg.upsample}", flush=True)
    dataset = WindowDataset(utts, cfg, args.batch_size, args.window_frames, args.steps_per_epoch, seed=args.seed,
                            input_noise=args.input_noise)
    if getattr(model, "optimizer", None) is None:   # --init_from: no optimizer yet
        warm_start(model, cfg, args, dataset, args.warm_steps)
    val_data = FixedWindows(val_utts, cfg, args.batch_size, args.window_frames, args.val_batches,
                            seed=args.seed + 1) if val_utts else None
    history = model.fit(dataset, epochs=args.epochs, initial_epoch=initial_epoch, validation_data=val_data,
                        verbose=2 if not sys.stdout.isatty() else 1, shuffle=False,  # batches: (seed, epoch, i)
                        callbacks=make_callbacks(cfg, args, out_dir, reference, initial_epoch, dataset))
    done = initial_epoch + len(history.history.get("loss", []))
    save_vocoder(model, cfg, final_path, extra={"epoch": done, "args": to_jsonable(args)})
    print(f"saved {final_path} (+ {final_path.with_suffix('.json').name}); log {out_dir / 'log.csv'}; "
          f"samples in {out_dir / 'samples'}; resolved flags {out_dir / 'config.json'}")
    return final_path
