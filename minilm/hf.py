"""Hugging Face model folders: config.json and safetensors weights, read and written.

A folder as the `transformers` library saves a model:

    config.json                      the architecture: model_type, architectures, sizes
    model.safetensors                the weights, one file ...
    model.safetensors.index.json     ... or shards: {"weight_map": {name: "model-00001-of-00002.safetensors"}}
    tokenizer.json                   (read by minilm.tokenizers)

This file knows nothing about any model's parameter names: the mappings from a
model family's names and layouts to minilm's live with the model that uses them
(minilm/models/gpt_hf.py for GPT-2 and Llama).

A safetensors file is 8 bytes (the header's length, little-endian), a JSON
header {name: {"dtype", "shape", "data_offsets": [begin, end]}}, then the raw
bytes of every tensor. The header is parsed here rather than by
`safetensors.numpy`, because NumPy has no bfloat16 and that loader refuses
files holding it, while many checkpoints are stored in bfloat16. Floating
weights come back as float32: float16 widens exactly, bfloat16 (the top 16 bits
of a float32) is decoded by minilm.bfloat16. Only safetensors is read: a
`pytorch_model.bin` is a pickle, and unpickling runs code chosen by whoever made
the file, so a folder holding only that is refused.
"""
import errno
import json
import os
import struct

import numpy as np
from safetensors.numpy import save_file

from .serialization import atomic_write, save_json

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"
# safetensors dtype names -> NumPy; BF16 has no NumPy type and is read as its raw 16 bits
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
          "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
MAX_HEADER = 100 * 1024 * 1024   # the format's own bound on the header's size


def read_config(folder):
    """The dict in folder/config.json; a missing folder or file or bad JSON is one clear error."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no folder {folder}: expected a Hugging Face model folder "
                                "(config.json and model.safetensors)")
    path = os.path.join(folder, CONFIG)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{folder} has no {CONFIG}: expected a Hugging Face model folder "
                                "(config.json and model.safetensors), as save_pretrained writes it")
    with open(path, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} holds a JSON {type(config).__name__}; a model config is one JSON object")
    return config


def weight_files(folder):
    """The safetensors files of a folder: model.safetensors, or the shards its index lists."""
    folder = os.fspath(folder)
    single, index = os.path.join(folder, WEIGHTS), os.path.join(folder, INDEX)
    if os.path.exists(single):
        return [single]
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            try:
                weight_map = json.load(f)["weight_map"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ValueError(f"{index} is not a safetensors index (expected JSON with a "
                                 '"weight_map" of {tensor name: shard file})') from None
        shards = sorted(set(weight_map.values()))
        missing = [s for s in shards if not os.path.exists(os.path.join(folder, s))]
        if missing:
            raise FileNotFoundError(f"{index} lists shards that are not in {folder}: {', '.join(missing)}; "
                                    "download the complete folder")
        return [os.path.join(folder, s) for s in shards]
    pickles = [n for n in sorted(os.listdir(folder)) if n.endswith((".bin", ".pt", ".pth", ".ckpt"))]
    if pickles:
        raise ValueError(f"{folder} has weights only as {pickles[0]}, a PyTorch pickle: loading a pickle "
                         "runs code from the file, so minilm reads only safetensors. Convert it once where "
                         "you trust it (transformers: model.save_pretrained(folder, safe_serialization=True)) "
                         "or download the folder's model.safetensors")
    raise FileNotFoundError(f"{folder} has no {WEIGHTS} or {INDEX}: expected a Hugging Face model folder")


def read_safetensors(path):
    """{name: array} of one safetensors file; floating tensors as float32 (bfloat16 decoded)."""
    from .bfloat16 import bfloat16_bits_to_float32
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ValueError(f"{path} is not a safetensors file (shorter than its 8-byte header length)")
        (header_length,) = struct.unpack("<Q", raw)
        if header_length > MAX_HEADER:
            raise ValueError(f"{path} is not a safetensors file (its header would be {header_length} bytes)")
        try:
            header = json.loads(f.read(header_length))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"{path} is not a safetensors file (its header is not JSON); "
                             "it may be truncated or corrupt") from None
    data = _data_section(path, 8 + header_length)
    arrays = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry.get("dtype") not in DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {entry.get('dtype')!r}; minilm reads "
                             f"{', '.join(DTYPES)}")
        begin, end = entry["data_offsets"]
        if end > len(data):
            raise ValueError(f"{path}: tensor {name!r} ends at byte {end} of a {len(data)}-byte data "
                             "section; the file is truncated: download it again")
        array = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        if entry["dtype"] == "BF16":
            array = bfloat16_bits_to_float32(array)
        elif array.dtype.kind == "f":
            array = array.astype(np.float32)
        else:
            array = np.array(array)                  # own the memory: the map closes with the file
        arrays[name] = array
    return arrays


def _data_section(path, offset):
    """The bytes after the header, mapped from disk rather than read: a model may be gigabytes."""
    if os.path.getsize(path) <= offset:
        return np.zeros(0, np.uint8)                  # (a file of empty tensors; mmap refuses length 0)
    return np.memmap(path, dtype=np.uint8, mode="r", offset=offset)


def load_safetensors_weights(folder):
    """{name: array} of every weight in the folder (one file or all its shards), floats as float32."""
    weights = {}
    for path in weight_files(folder):
        weights.update(read_safetensors(path))
    return weights


def write_folder(folder, config, weights, overwrite=False):
    """Write config.json and model.safetensors (float32, contiguous) into folder, each atomically.

    A folder that already holds a model is refused unless overwrite=True: nothing a user
    saved is replaced silently. The header says format "pt", which `transformers` expects.
    """
    folder = os.fspath(folder)
    existing = [n for n in (CONFIG, WEIGHTS, INDEX) if os.path.exists(os.path.join(folder, n))]
    if existing and not overwrite:
        raise FileExistsError(errno.EEXIST, f"{folder} already holds a model ({', '.join(existing)}); choose another "
                              "folder or pass overwrite=True (--overwrite on the command line) to replace it")
    os.makedirs(folder, exist_ok=True)
    arrays = {name: np.ascontiguousarray(np.asarray(a, dtype=np.float32)) for name, a in weights.items()}
    path = os.path.join(folder, WEIGHTS)
    atomic_write(path, lambda tmp: save_file(arrays, tmp, metadata={"format": "pt"}))
    save_json(config, os.path.join(folder, CONFIG))
    if os.path.exists(os.path.join(folder, INDEX)):           # a stale index would point past our file
        os.remove(os.path.join(folder, INDEX))
