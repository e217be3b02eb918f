"""A full disk or a read-only folder: one line naming the path and the OS's reason, nothing half-written, the
previous checkpoint still named and loadable, exit 1.

The real thing needs a small file system to fill: a tmpfs mount, on Linux as
root (skipped elsewhere, with the reason). The in-process tests that follow
make the same failures by a monkeypatched write that raises ENOSPC, and run
everywhere.
"""
import errno
import json
import os
import subprocess
import sys

import pytest
from conftest import TINY
from helpers import assert_one_line_error
from helpers import run_minilm as minilm

from minilm.errors import WriteFailed
from minilm.serialization import atomic_write
from minilm.train import checkpoint as checkpoint_module
from minilm.train.checkpoint import checkpoint_folder, read_pointer
from minilm.train.loop import Trainer, append_line


def all_files(folder):
    return sorted(os.path.relpath(os.path.join(r, f), folder) for r, _, fs in os.walk(folder) for f in fs)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs, mounted for the test."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("a full disk is made with a small tmpfs mount, which needs Linux and root")
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk, leave):
    """Fill the file system, then free `leave` bytes of it."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    os.close(fd)


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(small_disk, corpus):
    run = small_disk / "run"
    first = minilm("train", *TINY, "--data", corpus, "--out_dir", str(run), "--max_iters", "2", "--eval_interval", "2")
    assert first.returncode == 0, first.stderr
    kept = {path: open(run / path, "rb").read() for path in all_files(run) if path.startswith("checkpoint")}
    fill(small_disk, leave=24 * 1024)               # room for the log lines, not for the next checkpoint
    full = minilm("train", "--resume", "--out_dir", str(run), "--max_iters", "4")
    line = assert_one_line_error(full, 1)
    assert f"could not write {run}/checkpoints/step-000004/" in line and "No space left on device" in line
    assert "checkpoint.json still names checkpoints/step-000002" in line
    assert {path: open(run / path, "rb").read() for path in all_files(run) if path.startswith("checkpoint")} == kept
    assert not any(path.endswith(".tmp") for path in all_files(run))
    os.remove(small_disk / "filler")
    again = minilm("train", "--resume", "--out_dir", str(run), "--max_iters", "4")
    assert again.returncode == 0 and "resumed from" in again.stdout and "at step 2" in again.stdout, again.stderr


def test_prepare_on_a_full_disk_leaves_no_half_dataset(small_disk, corpus):
    fill(small_disk, leave=16 * 1024)
    full = minilm("prepare", "--input", corpus, "--out", str(small_disk / "ds"))
    line = assert_one_line_error(full, 1)
    assert f"{small_disk}/ds" in line and "No space left on device" in line
    assert ".tmp" not in line                     # not the temporary file, which is already removed
    assert all_files(small_disk / "ds") == []


def test_a_read_only_folder_is_one_line(small_disk, corpus):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    refused = minilm("train", *TINY, "--data", corpus, "--out_dir", str(small_disk / "run"), "--max_iters", "2")
    assert f"{small_disk}/run" in assert_one_line_error(refused, 1) and "Read-only file system" in refused.stderr


# ---------------------------------------------------------------- the same failures, monkeypatched
def test_a_failed_checkpoint_write_removes_its_folder(tiny, tmp_path, monkeypatch, log_records):
    Trainer(tiny(tmp_path, max_iters=2, eval_interval=2)).run()
    real_save = checkpoint_module.save

    def save_then_fail(arrays, path):
        if path.endswith("optimizer.safetensors"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        real_save(arrays, path)
    monkeypatch.setattr(checkpoint_module, "save", save_then_fail)
    with pytest.raises(WriteFailed, match=r"could not write .*step-000004/optimizer.safetensors: No space left on "
                                          r"device; the partial checkpoint was removed; checkpoint.json still names "
                                          r"checkpoints/step-000002"):
        Trainer(tiny(tmp_path, max_iters=4, eval_interval=2, resume=True)).run()
    assert read_pointer(tmp_path)["latest"] == "checkpoints/step-000002"
    assert os.listdir(tmp_path / "checkpoints") == ["step-000002"] and checkpoint_folder(tmp_path)
    assert log_records(tmp_path, "step")[-1] == 4         # whole lines only


def test_a_failed_log_line_is_cut_off(tmp_path):
    class FullDisk:
        """A raw file that takes 5 bytes of a write, then reports the disk full."""
        def __init__(self, f):
            self.f, self.calls = f, 0

        def tell(self):
            return self.f.tell()

        def truncate(self, size):
            return self.f.truncate(size)

        def write(self, data):
            self.calls += 1
            if self.calls > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(bytes(data[:5]))
    path = tmp_path / "log.jsonl"
    with open(path, "wb", buffering=0) as f:
        append_line(f, str(path), json.dumps({"step": 1}))
        with pytest.raises(WriteFailed, match=f"could not write {path}: No space left on device"):
            append_line(FullDisk(f), str(path), json.dumps({"step": 2, "loss": 1.5}))
    assert path.read_text() == '{"step": 1}\n'


def test_atomic_write_names_the_target_and_leaves_nothing(tmp_path):
    target = tmp_path / "tokenizer.json"
    target.write_text("old")

    def fail(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)
    with pytest.raises(OSError) as caught:
        atomic_write(target, fail)
    assert caught.value.filename == str(target) and caught.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == ["tokenizer.json"] and target.read_text() == "old"
