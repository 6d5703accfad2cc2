"""Fixtures of the ResGAN tests."""
import pytest

from tests.resgan.netcdf_examples import write_two_files


@pytest.fixture()
def two_files(tmp_path):
    """Two small CURRENNT data files (see netcdf_examples.write_two_files)."""
    return write_two_files(tmp_path)
