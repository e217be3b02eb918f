"""minilm/hf.py: reading and writing Hugging Face folders, whatever the model."""
import json
import os

import numpy as np
import pytest
from safetensors.numpy import save_file

from helpers import FIXTURES
from minilm.bfloat16 import float32_to_bfloat16_bits
from minilm.hf import load_safetensors_weights, read_config, read_safetensors, weight_files, write_folder

HF = os.path.join(FIXTURES, "hf")


def test_float16_and_bfloat16_become_float32_and_integers_stay(tmp_path):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    path = str(tmp_path / "w.safetensors")
    save_file({"half": x.astype(np.float16), "ids": np.arange(5)}, path)
    arrays = read_safetensors(path)
    assert arrays["half"].dtype == np.float32 and arrays["ids"].dtype == np.int64
    np.testing.assert_array_equal(arrays["half"], x.astype(np.float16).astype(np.float32))
    # a BF16 entry: numpy cannot write one, so patch the dtype of a uint16 tensor in the header
    save_file({"b": float32_to_bfloat16_bits(x)}, path)
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = raw[8:8 + n].replace(b'"U16"', b'"BF16"')
    open(path, "wb").write(len(header).to_bytes(8, "little") + header + raw[8 + n:])
    decoded = read_safetensors(path)["b"]
    assert decoded.dtype == np.float32
    np.testing.assert_allclose(decoded, x, rtol=2 ** -8)


def test_sharded_folders_are_read_whole():
    files = weight_files(os.path.join(HF, "llama_untied"))
    assert len(files) == 2
    weights = load_safetensors_weights(os.path.join(HF, "llama_untied"))
    index = json.load(open(os.path.join(HF, "llama_untied", "model.safetensors.index.json")))
    assert set(weights) == set(index["weight_map"])


def test_a_pickle_only_folder_is_refused_naming_pickle(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(ValueError, match="pytorch_model.bin, a PyTorch pickle: loading a pickle runs code"):
        weight_files(tmp_path)


def test_missing_and_damaged_inputs_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        read_config(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        read_config(tmp_path)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "shard-1.safetensors"}}))
    with pytest.raises(FileNotFoundError, match="shard-1.safetensors"):
        weight_files(tmp_path)
    path = tmp_path / "cut.safetensors"
    save_file({"a": np.ones(100, np.float32)}, str(path))
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match="truncated"):
        read_safetensors(path)


def test_write_folder_is_readable_and_never_overwrites_silently(tmp_path):
    write_folder(tmp_path, {"model_type": "x"}, {"w": np.arange(6.0).reshape(2, 3)})
    assert read_config(tmp_path) == {"model_type": "x"}
    np.testing.assert_array_equal(load_safetensors_weights(tmp_path)["w"], np.arange(6.0).reshape(2, 3))
    with pytest.raises(FileExistsError, match="already holds a model"):
        write_folder(tmp_path, {}, {"w": np.zeros(1)})
