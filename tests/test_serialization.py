"""safetensors save/load: round trips, atomic writes, clear errors for damaged files."""
import os
import stat

import numpy as np
import pytest

import minilm


def test_round_trip(tmp_path):
    sd = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2), "c": np.arange(3)}
    path = tmp_path / "w.safetensors"
    minilm.save(sd, path)
    back = minilm.load(path)
    for k in sd:
        assert back[k].dtype == sd[k].dtype and np.array_equal(back[k], sd[k])
    assert os.listdir(tmp_path) == ["w.safetensors"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "w.safetensors"
    minilm.save({"a": np.ones(2)}, path)
    with pytest.raises(Exception):
        minilm.save({"a": object()}, path)
    assert np.array_equal(minilm.load(path)["a"], np.ones(2))
    assert os.listdir(tmp_path) == ["w.safetensors"]


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "w.safetensors"
    minilm.save({"a": np.ones(100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt"):
        minilm.load(path)
    with pytest.raises(FileNotFoundError):
        minilm.load(tmp_path / "missing.safetensors")


def test_tensors_are_saved_as_arrays(tmp_path):
    model = minilm.nn.Linear(3, 2)
    minilm.save(model.state_dict(), tmp_path / "m.safetensors")
    other = minilm.nn.Linear(3, 2)
    other.load_state_dict(minilm.load(tmp_path / "m.safetensors"))
    assert np.array_equal(other.weight.numpy(), model.weight.numpy())


def test_saved_files_get_the_usual_mode_not_a_private_temporary_one(tmp_path):
    """The temporary file is made private (0600); the saved file gets 0666 less the umask, as open() would."""
    umask = os.umask(0)
    os.umask(umask)
    path = tmp_path / "w.safetensors"
    minilm.save({"a": np.zeros(3, np.float32)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 0, 3), (1, 2, 3, 4)])
def test_every_rank_keeps_its_shape(tmp_path, shape):
    array = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    minilm.save({"x": array, "t": minilm.tensor(array)}, tmp_path / "w.safetensors")
    loaded = minilm.load(tmp_path / "w.safetensors")
    assert loaded["x"].shape == shape and loaded["t"].shape == shape and np.array_equal(loaded["x"], array)
