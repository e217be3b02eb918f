"""Saving and loading weights: safetensors files, written atomically.

safetensors stores named arrays plus a JSON header, and loading it runs no
code: a weights file from anywhere is only ever read as numbers. A save goes
to a temporary file in the same folder that is then renamed over the target:
a rename is atomic, so a crash mid-save leaves the previous file intact.
"""
import json
import os
import re
import tempfile

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from .backend import to_device
from .tensor import Tensor


_UMASK = os.umask(0)   # read the process's umask (the only way is to set it) and put it back
os.umask(_UMASK)


def atomic_write(path, write):
    """Call write(tmp_path), then rename tmp_path over path (same folder, so same filesystem).

    If anything fails (a full disk, a read-only folder), the temporary file is
    removed, path is untouched, and an OSError names path (not the temporary).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    except OSError as e:
        raise OSError(e.errno, e.strerror, path) from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp makes it private (0600); a saved file gets the usual mode
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError) and e.errno is not None:
            raise OSError(e.errno, e.strerror, path) from None
        raise


def _save_file(arrays, path, metadata):
    """safetensors' save_file, with its I/O failures as the OSError they are (it reports them as text)."""
    try:
        save_file(arrays, path, metadata=metadata)
    except SafetensorError as e:
        code = re.search(r"os error (\d+)", str(e))
        if code is None:
            raise
        raise OSError(int(code.group(1)), os.strerror(int(code.group(1))), path) from None


def save(state_dict, path, metadata=None):
    """Write {name: array or Tensor} to a safetensors file, atomically.

    `metadata` (str -> str) goes into the file's header.
    """
    arrays = {}
    for name, value in state_dict.items():
        array = value.data if isinstance(value, Tensor) else value
        arrays[name] = np.asarray(to_device(array, "cpu"), order="C")   # (ascontiguousarray makes () into (1,))
    atomic_write(path, lambda tmp: _save_file(arrays, tmp, metadata))


def load(path):
    """{name: numpy array} from a safetensors file; a damaged file is a clear error."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable safetensors file ({e}); "
                         "it may be truncated or corrupt") from None


def save_json(obj, path):
    atomic_write(path, lambda tmp: _write_text(tmp, json.dumps(obj, indent=2, sort_keys=True)))


def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text)
