"""A run's record: out_dir/log.jsonl (one JSON object per line) and the progress lines printed to the terminal.

    {"step": 10, "loss": 2.91, "lr": 0.001, "grad_norm": 0.84, "tokens_per_s": 41230.5}     every step
    {"step": 250, "train_loss": 1.62, "val_loss": 1.79, "val_ppl": 5.99, ...}                 every evaluation

The log is strict JSON, which `jq`, JavaScript and `json.loads` all read: a value that
is not a finite number (an overflowing perplexity, a float16 step's infinite gradient
norm) is written as null. Logs of older runs wrote such a value as Infinity or NaN;
read_log reads both forms (null as NaN, Infinity as infinity): neither is a finite number.

The log is written unbuffered, a whole line at a time: a failed write (a full
disk) is cut off, so the file always holds complete records. A resumed run
first drops the records past its checkpoint's step, which it trains again.
"""
import errno
import json
import math
import os

from tqdm import tqdm

from .. import distributed
from ..errors import WriteFailed
from ..serialization import atomic_write


def print_once(message):
    """Print a line of the run's progress, once: on rank 0 only when several processes train."""
    if distributed.is_main():
        tqdm.write(message)


def as_json(record):
    """One log line: the record in strict JSON, a non-finite number written as null."""
    finite = {key: None if isinstance(value, float) and not math.isfinite(value) else value
              for key, value in record.items()}
    return json.dumps(finite, allow_nan=False)


def read_log(log_path):
    """The records of a log.jsonl, in order, null read as NaN (an old log's Infinity and NaN as they were);
    a clear error for a missing or damaged log."""
    if not os.path.exists(log_path):
        raise FileNotFoundError(errno.ENOENT, "no training log here: is this the folder of a training run?",
                                os.fspath(log_path))
    records = []
    with open(log_path) as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    raise ValueError(f"{log_path}, line {number}, is not a JSON record: the log is damaged") from None
                records.append({key: math.nan if value is None else value for key, value in record.items()})
    if not records:
        raise ValueError(f"{log_path} has no records yet: train for a few steps first")
    return records


def append_line(file, path, line):
    """Write one line to an unbuffered file; on a failed write (disk full) cut it off and raise WriteFailed."""
    end = file.tell()
    data = memoryview((line + "\n").encode())
    try:
        while data:                                     # a write may take only part of it, then fail
            data = data[file.write(data):]
    except OSError as error:
        file.truncate(end)                              # no half line: the log stays readable
        raise WriteFailed(OSError(error.errno, error.strerror, path),
                          "the latest checkpoint is kept; free some space, then --resume") from None


def forget_records_after(log_path, step):
    """Drop log records past `step`: a run that went on after its last checkpoint logged steps
    that the resumed run is about to train again."""
    if not os.path.exists(log_path):
        return
    with open(log_path) as f:
        kept = "".join(line for line in f if line.strip() and json.loads(line)["step"] <= step)

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(kept)
    atomic_write(log_path, write)
