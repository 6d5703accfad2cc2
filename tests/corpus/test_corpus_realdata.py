"""corpus.realdata: the environment variable wins; without it, ../shared/realdata."""
from pathlib import Path

from corpus.realdata import realdata_root


def test_environment_variable_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("AUDIOSYNTH_REALDATA", str(tmp_path))
    assert realdata_root() == tmp_path


def test_default_is_shared_beside_the_clone(monkeypatch):
    monkeypatch.delenv("AUDIOSYNTH_REALDATA", raising=False)
    repo = Path(__file__).resolve().parents[2]
    assert realdata_root() == (repo.parent / "shared" / "realdata").resolve()
