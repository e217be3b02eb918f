"""One trainer per run folder: an operating-system lock on out_dir/train.lock.

    with RunLock(out_dir):            # refused at once, naming the holder's pid, if another trainer has it
        ... train, write checkpoints ...

The lock is `flock` on an open file: the kernel drops it when the process
ends, however it ends (SIGKILL included), so a crash never leaves a stale
lock behind. The file stays (deleting a lock file races with a process that
is opening it); its content, the holder's process id, is only for the
message. A run that fails before it trains (its data could not be read or
prepared) takes back what it created, and only that: `release(discard=True)`
removes the entries that were not in the folder when the lock was taken (the
lock file, a data/ folder), and the folder itself if it made it. Readers (`sample`, `eval`, `plot`) take no lock: checkpoint.json
always names a complete checkpoint (see checkpoint.py), so reading while a
run trains is safe.

fcntl exists on Linux and macOS; on Windows the lock is not taken (said once).
"""
import os
import shutil
import warnings

from ..errors import RunLocked

try:
    import fcntl
except ImportError:                                    # Windows
    fcntl = None

LOCK_FILE = "train.lock"


def _holder(path):
    try:
        with open(path) as f:
            return f.read().strip() or "unknown"
    except OSError:
        return "unknown"


def _refuse(out_dir, pid):
    raise RunLocked(f"{out_dir} is being trained by process {pid} (it holds {os.path.join(out_dir, LOCK_FILE)}); "
                    f"wait for it to finish or stop it (kill {pid}), or train into another --out_dir. "
                    "Reading it (sample, eval, plot) works meanwhile")


def check_unlocked(out_dir):
    """Raise RunLocked if a live process trains out_dir; writes nothing (the folder stays byte-identical)."""
    path = os.path.join(out_dir, LOCK_FILE)
    if fcntl is None or not os.path.exists(path):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # (released by the close below)
    except BlockingIOError:
        _refuse(out_dir, _holder(path))
    finally:
        os.close(fd)


class RunLock:
    """An exclusive lock on a run folder while this process writes into it."""

    def __init__(self, out_dir):
        self.out_dir, self.fd, self.made_folder = os.fspath(out_dir), None, False
        self.found = set()                               # what the folder held before: never removed here

    def acquire(self):
        if fcntl is None:
            warnings.warn("no fcntl on this system: the run folder is not locked against a second trainer")
            return self
        self.made_folder = not os.path.isdir(self.out_dir)
        self.found = set() if self.made_folder else set(os.listdir(self.out_dir))
        os.makedirs(self.out_dir, exist_ok=True)
        path = os.path.join(self.out_dir, LOCK_FILE)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            _refuse(self.out_dir, _holder(path))
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self, discard=False):
        """Drop the lock. discard: the run failed before training, remove what it created here (see above);
        a folder this lock made and nothing but its lock file went into is removed either way."""
        if self.fd is None:
            return
        created = set(os.listdir(self.out_dir)) - self.found
        if discard or created == {LOCK_FILE}:
            for name in created:
                path = os.path.join(self.out_dir, name)
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
            if self.made_folder and not os.listdir(self.out_dir):
                os.rmdir(self.out_dir)
        os.close(self.fd)                              # closing the file drops the lock
        self.fd = None

    def __enter__(self):
        return self if self.fd is not None else self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        self.release()
