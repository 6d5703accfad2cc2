"""The CLIs of the bad-input matrix (issue 22): how each one is called on each case.

`CLIS` lists every command that reads audio, features or models, with a builder
``argv(case, inputs, out)`` that returns its command line for a case (None where
the case does not apply) and `named_paths` the file or folder its refusal must name.
`Inputs` writes the shared inputs (tests.bad_inputs) once; `KerasInputs` adds those
that need Keras to make (a real tiny vocoder, CNN-vocoder segments, ResGAN data).
"""
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.bad_inputs import (AUDIO_REFUSED, make_bad_inputs, make_npz_cases, speech_like, truncated_keras,
                              write_wav)
from tests.resgan.netcdf_examples import write_two_files

CASES = AUDIO_REFUSED + ("unwritable", "missing_model", "truncated_keras", "netcdf_missing_variable")
NETCDF_CASES = ("empty", "not_audio", "folder_as_file", "netcdf_missing_variable")
# the npz cases of cnnvocoder.synthesis under the matrix's names
NPZ_AS = {"empty": "empty", "not_audio": "not_npz", "truncated": "truncated", "nan_inf": "nan_inf",
          "folder_as_file": "folder_as_file", "one_sample": "one_frame", "netcdf_missing_variable": "missing_key"}
ACCEPTED = "accepted"


@dataclass
class Cli:
    """One command line of the matrix.

    Attributes:
        name: row name (command and mode).
        target: root script (``get_mfcc.py``) or module (``wavenet.vocode``).
        argv: ``argv(case, inputs, out)`` -> argument list, or None where the case does not apply.
        keras: bool, the command imports Keras (its tests are slow).
    """

    name: str
    target: str
    argv: object
    keras: bool = False


class Inputs:
    """Every input file of the matrix, written once per session under `root`."""

    def __init__(self, root):
        self.root = Path(root)
        self.bad = make_bad_inputs(self.root / "bad")
        self.audio = self.bad.audio
        self.ro = self.bad.readonly_dir                      # made unwritable while a batch runs
        self.good16 = write_wav(self.root / "good" / "speech16k.wav", speech_like(1.0, 16000), 16000)
        self.good22 = write_wav(self.root / "good22" / "speech22k.wav", speech_like(1.0, 22050), 22050)
        self.good8 = write_wav(self.root / "good8" / "speech8k.wav", speech_like(1.0, 8000), 8000)
        self.stereo = self.bad.accepted["stereo_44k"]
        self.netcdf = self._netcdf_cases()
        self.npz, self.good_npz = make_npz_cases(self.root / "npz")
        self.estimates = self._estimates()
        self.missing = self.bad.missing_model_dir
        self.trunc = self._stand_in_checkpoints()

    def _netcdf_cases(self):
        """``{case: folder}`` with a bad ``data.nc1`` in each (for --data_dir and for `info`)."""
        cases = {"netcdf_missing_variable": self.bad.netcdf_dir}
        for case in ("empty", "not_audio", "folder_as_file"):
            folder = self.root / "netcdf" / case
            folder.mkdir(parents=True)
            if case == "folder_as_file":
                (folder / "data.nc1").mkdir()
            else:
                shutil.copyfile(self.audio[case], folder / "data.nc1")
            cases[case] = folder
        return cases

    def _estimates(self):
        """Good estimates named like each bad reference, and like each accepted file."""
        folder = self.root / "estimates"
        for name in [p.name for p in self.audio.values()] + [p.name for p in self.bad.accepted_dir.iterdir()]:
            write_wav(folder / name, speech_like(1.0, 16000, seed=5), 16000)
        return folder

    def _stand_in_checkpoints(self):
        """Truncated ``.keras`` files (a cut zip) with the JSON each loader reads first."""
        folder = self.bad.truncated_keras.parent
        for name in ("pulse_model.keras", "generator.keras", "b2.keras", "audiornn.keras", "last.keras"):
            shutil.copyfile(self.bad.truncated_keras, folder / name)
        (folder / "audiornn.json").write_text(json.dumps(
            {"samplerate": 8000, "mu": 255, "preemphasis": 0.95, "val_fraction": 0.1,
             "data_dir": str(self.good8.parent), "cache": str(self.root / "codes.npz")}))
        (folder / "audiornn.log.csv").write_text("epoch,loss,val_loss\n0,5.0,5.0\n")
        (folder / "b2.json").write_text(json.dumps({"config": {}}))
        return folder


class KerasInputs:
    """The inputs that need Keras to make: a real tiny vocoder (and its truncated copy),
    CNN-vocoder segments, ResGAN training data and a WaveNet run with a truncated checkpoint."""

    def __init__(self, root, inputs):
        from cnnvocoder import preprocess   # Keras-free; the two below import Keras (slow tests only)
        from wavenet.model import WaveNetConfig, build_wavenet, save_vocoder

        self.root = Path(root)
        cfg = WaveNetConfig(n_layers=4, n_stacks=1, kernel_size=2, residual_channels=8, gate_channels=16,
                            skip_channels=8, hop=256, upsample_scales=[16, 16])
        self.vocoder = self.root / "vocoder"
        save_vocoder(build_wavenet(cfg), cfg, self.vocoder / "vocoder.keras", extra={"epoch": 1})
        self.trunc_vocoder = self.root / "vocoder_truncated"
        truncated_keras(self.trunc_vocoder / "vocoder.keras", source=self.vocoder / "vocoder.keras")
        shutil.copy(self.vocoder / "vocoder.json", self.trunc_vocoder / "vocoder.json")
        self.wavenet_run = self.root / "wavenet_run"   # resumes from a truncated checkpoint
        truncated_keras(self.wavenet_run / "ckpt" / "latest.keras", source=self.vocoder / "vocoder.keras")
        shutil.copy(self.vocoder / "vocoder.json", self.wavenet_run / "ckpt" / "latest.json")
        self.segments = self.root / "segments"
        preprocess.main(["--data_dir", str(inputs.good22.parent), "--out_dir", str(self.segments),
                         "--samples_per_audio", "2", "--num_workers", "1"])
        self.bad_segments = {}
        for case in ("empty", "truncated"):   # a data folder whose training segment is cut short
            folder = self.root / f"segments_{case}"
            shutil.copytree(self.segments, folder)
            first = (folder / "train.txt").read_text().split()[0]
            seg = folder / "segments" / first
            seg.write_bytes(b"" if case == "empty" else seg.read_bytes()[:seg.stat().st_size // 2])
            self.bad_segments[case] = folder
        self.resgan_data = self.root / "resgan_data"
        write_two_files(self.resgan_data)


def _argv_get_mfcc_file(case, inp, out):
    if case in AUDIO_REFUSED or case == ACCEPTED:
        wav = inp.stereo if case == ACCEPTED else inp.audio[case]
        return ["--input_file", wav, "--lsf_file", out / "x.lsf", "--mfcc_file", out / "x.mfcc"]
    if case == "unwritable":
        return ["--input_file", inp.good16, "--lsf_file", inp.ro / "x.lsf", "--mfcc_file", inp.ro / "x.mfcc"]
    return None


def _folder_cli(make):
    """argv builder of a CLI reading a folder of audio: `make(folder, out)` (unwritable: out is read-only)."""
    def argv(case, inp, out):
        if case in AUDIO_REFUSED:
            return make(inp.audio[case].parent, out)
        if case == ACCEPTED:
            return make(inp.bad.accepted_dir, out)
        if case == "unwritable":
            return make(inp.good16.parent, inp.ro)
        return None
    return argv


def _file_cli(make, unwritable_out):
    """argv builder of a CLI reading one audio file: `make(wav, out)`."""
    def argv(case, inp, out):
        if case in AUDIO_REFUSED:
            return make(inp.audio[case], out)
        if case == ACCEPTED:
            return make(inp.stereo, out)
        if case == "unwritable":
            return make(inp.good16, unwritable_out(inp))
        return None
    return argv


def _argv_info(case, inp, out):
    return ["info", inp.netcdf[case] / "data.nc1"] if case in NETCDF_CASES else None


def _argv_import(case, inp, out):
    if case == "netcdf_missing_variable":
        return ["import", "--src", inp.netcdf[case], "--out_dir", out / "train", "--test_dir", out / "test"]
    return None


def _argv_train_py(case, inp, out):
    common = ["--figures_dir", out / "fig", "--epochs_pulse", "1", "--steps_per_epoch", "1", "--batch_size", "4"]
    if case in NETCDF_CASES:
        return ["--mode", "train_pulse_model", "--data_dir", inp.netcdf[case], "--testdata_dir",
                inp.keras.resgan_data, "--model_dir", out / "models", *common]
    if case in ("missing_model", "truncated_keras"):
        model_dir = inp.missing if case == "missing_model" else inp.trunc
        return ["--mode", "generate", "--testdata_dir", inp.keras.resgan_data, "--model_dir", model_dir,
                "--out_dir", out]
    if case == "unwritable":
        return ["--mode", "train_pulse_model", "--data_dir", inp.keras.resgan_data, "--model_dir", inp.ro, *common]
    return None


def _argv_synthesize(case, inp, out):
    dirs = ["--out_dir", out / "wav", "--figures_dir", out / "fig"]
    if case in AUDIO_REFUSED or case == ACCEPTED:
        wav = inp.stereo if case == ACCEPTED else inp.audio[case]
        return ["--input_file", wav, "--model_dir", inp.missing, *dirs]
    if case == "truncated_keras":
        return ["--input_file", inp.good16, "--model_dir", inp.trunc, "--data_dir", inp.keras.resgan_data, *dirs]
    if case == "netcdf_missing_variable":
        return ["--testdata_dir", inp.netcdf[case], "--pls_dir", out, *dirs]
    if case == "unwritable":
        return ["--input_file", inp.good16, "--model_dir", inp.missing, "--out_dir", inp.ro,
                "--figures_dir", out / "fig"]
    return None


_RNN_TINY = ["-ts", "32", "-n", "8", "-b", "4", "-e", "1", "--steps_per_epoch", "1", "--val_windows", "4"]


def _argv_audiornn_generate(case, inp, out):
    if case in ("missing_model", "truncated_keras"):
        folder = inp.missing if case == "missing_model" else inp.trunc
        return ["-g", "-m", folder / "audiornn.keras", "-a", out / "generated.wav", "-gl", "0.01"]
    return None


def _argv_audiornn_eval(case, inp, out):
    if case in ("missing_model", "truncated_keras"):
        folder = inp.missing if case == "missing_model" else inp.trunc
        return ["-m", folder / "audiornn.keras", "-a", inp.good8, "--figures_dir", out]
    return None


def _argv_separate(case, inp, out):
    if case in AUDIO_REFUSED or case == ACCEPTED:
        wav = inp.stereo if case == ACCEPTED else inp.audio[case]
        return ["--method", "ibm_gt", "--input", wav, "--reference", inp.good22, "--output", out / "y.wav"]
    if case in ("missing_model", "truncated_keras"):
        folder = inp.missing if case == "missing_model" else inp.trunc
        return ["--method", "b2", "--model_dir", folder, "--input", inp.good22, "--output", out / "y.wav"]
    if case == "unwritable":
        return ["--method", "ibm_gt", "--input", inp.good22, "--reference", inp.good22,
                "--output", inp.ro / "y.wav"]
    return None


def _argv_evaluate(case, inp, out):
    if case in AUDIO_REFUSED or case == ACCEPTED:
        refs = inp.bad.accepted_dir if case == ACCEPTED else inp.audio[case].parent
        return ["--reference_dir", refs, "--estimate_dir", inp.estimates, "--out_dir", out]
    if case == "unwritable":
        return ["--reference_dir", inp.bad.accepted_dir, "--estimate_dir", inp.estimates, "--out_dir", inp.ro]
    return None


def _argv_vocode(case, inp, out):
    model = ["--model_dir", inp.keras.vocoder]
    gl = ["--method", "griffinlim"]   # the inputs are checked before either method runs
    if case in AUDIO_REFUSED:
        return [*model, "--input", inp.audio[case], "--out_dir", out, *gl]
    if case == ACCEPTED:
        return [*model, "--input_dir", inp.bad.accepted_dir, "--out_dir", out, *gl]
    if case in ("missing_model", "truncated_keras"):
        folder = inp.missing if case == "missing_model" else inp.keras.trunc_vocoder
        return ["--model_dir", folder, "--input", inp.good22, "--out_dir", out, *gl]
    if case == "unwritable":
        return [*model, "--input", inp.good22, "--out_dir", inp.ro, *gl]
    return None


_WAVENET_TINY = ["--epochs", "1", "--steps_per_epoch", "1", "--batch_size", "2", "--n_layers", "2",
                 "--n_stacks", "1", "--residual_channels", "4", "--gate_channels", "8", "--skip_channels", "4",
                 "--val_fraction", "0", "--sample_every", "0", "--sample_frames", "4"]


def _argv_wavenet_train(case, inp, out):
    if case in AUDIO_REFUSED or case == ACCEPTED:
        data = inp.bad.accepted_dir if case == ACCEPTED else inp.audio[case].parent
        return ["--data_dir", data, "--out_dir", out, *_WAVENET_TINY]
    if case == "truncated_keras":   # the output folder of an interrupted run, resumed
        return ["--data_dir", inp.good22.parent, "--out_dir", out, *_WAVENET_TINY]
    if case == "unwritable":
        return ["--data_dir", inp.good22.parent, "--out_dir", inp.ro, *_WAVENET_TINY]
    return None


def _argv_cnn_synthesis(case, inp, out):
    if case in NPZ_AS:
        return ["--method", "griffinlim", "--input", inp.npz[NPZ_AS[case]], "--output", out / "y.wav"]
    if case in ("missing_model", "truncated_keras"):
        folder = inp.missing if case == "missing_model" else inp.trunc
        return ["--method", "cnn", "--model", folder / "model.keras", "--input", inp.good_npz,
                "--output", out / "y.wav"]
    if case == "unwritable":
        return ["--method", "griffinlim", "--input", inp.good_npz, "--output", inp.ro / "y.wav"]
    return None


def _argv_cnn_train(case, inp, out):
    tiny = ["--epochs", "1", "--steps_per_epoch", "1", "--validation_steps", "1", "--sample_every", "0"]
    if case in ("empty", "truncated"):
        return ["--data_dir", inp.keras.bad_segments[case], "--model_dir", out, *tiny]
    if case == "missing_model":   # the model folder is made; the data folder is what must exist
        return ["--data_dir", inp.missing, "--model_dir", out, *tiny]
    if case == "truncated_keras":
        return ["--data_dir", inp.keras.segments, "--checkpoint", inp.trunc / "last.keras", "--model_dir", out,
                *tiny]
    if case == "unwritable":
        return ["--data_dir", inp.keras.segments, "--model_dir", inp.ro, *tiny]
    return None


CLIS = [
    Cli("get_mfcc.py --input_file", "get_mfcc.py", _argv_get_mfcc_file),
    Cli("get_mfcc.py --input_dir", "get_mfcc.py",
        _folder_cli(lambda d, out: ["--input_dir", d, "--output_dir", out])),
    Cli("data_utils.py package", "data_utils.py",
        _folder_cli(lambda d, out: ["package", "--wav_dir", d, "--out_dir", out / "train" if out.name != "readonly"
                                    else out, "--test_dir", out / "test", "--figures_every", "0",
                                    "--figures_dir", out / "fig"])),
    Cli("data_utils.py info", "data_utils.py", _argv_info),
    Cli("data_utils.py import", "data_utils.py", _argv_import),
    Cli("audiornn.AudioRNNData", "audiornn.AudioRNNData",
        _folder_cli(lambda d, out: ["-d", d, "-o", out / "codes.npz"])),
    Cli("cnnvocoder.preprocess", "cnnvocoder.preprocess",
        _folder_cli(lambda d, out: ["--data_dir", d, "--out_dir", out, "--num_workers", "1"])),
    Cli("cnnvocoder.gen_spec", "cnnvocoder.gen_spec",
        _file_cli(lambda w, out: ["-i", w, "-o", out / "x.npz"], lambda inp: inp.ro)),
    Cli("resgan.predictability", "resgan.predictability",
        _folder_cli(lambda d, out: ["--train_dir", d, "--test_dir", d, "--out", out / "lines.jsonl"])),
    Cli("train.py", "train.py", _argv_train_py, keras=True),
    Cli("synthesize.py", "synthesize.py", _argv_synthesize, keras=True),
    Cli("audiornn.AudioRNN -t", "audiornn.AudioRNN",
        _folder_cli(lambda d, out: ["-t", "-d", d, "-m", out / "audiornn.keras", *_RNN_TINY]), keras=True),
    Cli("audiornn.AudioRNN -g", "audiornn.AudioRNN", _argv_audiornn_generate, keras=True),
    Cli("audiornn.AudioRNNEval", "audiornn.AudioRNNEval", _argv_audiornn_eval, keras=True),
    Cli("separation.separate", "separation.separate", _argv_separate, keras=True),
    Cli("separation.evaluate", "separation.evaluate", _argv_evaluate, keras=True),
    Cli("wavenet.vocode", "wavenet.vocode", _argv_vocode, keras=True),
    Cli("wavenet.train", "wavenet.train", _argv_wavenet_train, keras=True),
    Cli("cnnvocoder.synthesis", "cnnvocoder.synthesis", _argv_cnn_synthesis, keras=True),
    Cli("cnnvocoder.train", "cnnvocoder.train", _argv_cnn_train, keras=True),
]
BY_NAME = {c.name: c for c in CLIS}


def named_paths(cli, case, inp, out):
    """The paths a refusal of `case` may name: the bad file or its folder (a file inside names both)."""
    if case == "unwritable":
        return [inp.ro]
    if case == "missing_model":
        return [inp.missing]
    if case == "truncated_keras":
        if cli.target in ("wavenet.vocode", "wavenet.train"):
            return [inp.keras.trunc_vocoder / "vocoder.keras", out / "ckpt" / "latest.keras"]
        return [inp.trunc]
    if cli.target == "cnnvocoder.synthesis":
        return [inp.npz[NPZ_AS[case]]]
    if cli.target == "cnnvocoder.train":
        return [inp.keras.bad_segments[case]]
    if cli.name in ("data_utils.py info", "data_utils.py import", "train.py") or case == "netcdf_missing_variable":
        return [inp.netcdf[case]]
    return [inp.audio[case].parent]


class Anything:
    """Stands in for `Inputs` when only the applicability of a case is asked."""

    def __getattr__(self, name):
        return Anything()

    def __getitem__(self, key):
        return Anything()

    def get(self, key, default=None):
        return Anything()

    def __truediv__(self, other):
        return Anything()

    @property
    def parent(self):
        return Anything()

    def __fspath__(self):
        return "/anything"

    def __str__(self):
        return "/anything"
