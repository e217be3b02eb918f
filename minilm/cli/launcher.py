"""`minilm train --nproc N`: start N training processes with mpiexec, and be one of them.

    minilm train --nproc 4 --max_iters 500      is      mpiexec -n 4 python -m minilm train --max_iters 500

with three things added that a bare mpiexec leaves to the user:

- threads: each of the N processes gets cores / N threads (OPENBLAS_NUM_THREADS and
  friends, set before NumPy loads, which minilm/fast/threads.py follows), so N processes
  do not fight over the machine's cores;
- a rank that dies: MPICH's mpiexec then stops the others and names the process
  id that ended; the launcher turns that into which rank it was and where the last
  checkpoint is;
- Ctrl-C (or SIGTERM) on the launcher: it passes the signal to mpiexec, which hands
  it to every rank; they agree to stop after the same step, rank 0 saves a
  checkpoint, and all exit 130 (a second Ctrl-C makes mpiexec kill them at once).

Every rank runs `as_rank`: it joins the MPI job, and on ranks other than 0 it
silences standard output and the one-line user errors (rank 0 prints them once).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from .. import distributed
from ..errors import UserError, user_message

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# MPICH's mpiexec, when a process ends without finishing MPI (killed, crashed): "=   PID 9368 RUNNING AT vm"
LOST_PID = re.compile(rb"PID (\d+) RUNNING AT (\S+)\s*=\s*(?:EXIT CODE|KILLED BY SIGNAL): (\d+)")


def split_nproc(argv):
    """(N, argv without --nproc N); N is 1 when not given."""
    rest, nproc, i = [], 1, 0
    while i < len(argv):
        key, eq, value = argv[i].partition("=")
        if key == "--nproc":
            if not eq:
                if i + 1 >= len(argv):
                    raise ValueError("--nproc needs a number of processes, e.g. --nproc 2")
                value, i = argv[i + 1], i + 1
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"--nproc expects a number of processes >= 1, got {value!r}")
            nproc = int(value)
        else:
            rest.append(argv[i])
        i += 1
    return nproc, rest


def as_rank(command, argv, name="train"):
    """Run a `minilm train` (or `minilm NAME`) command here, or start it N times under mpiexec (--nproc N)."""
    distributed.init()                                  # (nothing to do unless mpiexec started this process)
    if distributed.is_main():
        return start_or_run(command, argv, name)
    sys.stdout = open(os.devnull, "w")              # rank 0 prints the run's progress, once
    try:
        return start_or_run(command, argv, name)
    except (Exception, KeyboardInterrupt) as error:
        reported = user_message(error)
        if reported is None:                            # a bug: every rank keeps its traceback
            raise
        return reported[1]                              # the same status as rank 0, which printed why


def start_or_run(command, argv, name="train"):
    nproc, argv = split_nproc(argv)
    if nproc > 1 and distributed.launched_size() == 1:
        return launch(nproc, argv, name)
    if nproc > 1 and nproc != distributed.world_size():
        raise ValueError(f"--nproc {nproc} inside an MPI job of {distributed.world_size()} processes: "
                         "start the processes either with mpiexec -n or with --nproc, not both")
    return command(argv)


def find_mpiexec():
    """The mpiexec of the MPI that mpi4py uses (the mpich wheel puts it next to python)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise UserError(f"--nproc starts processes with MPI, which is not installed: {distributed.INSTALL}; "
                        "or drop --nproc to train on one process") from None
    beside_python = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside_python if os.access(beside_python, os.X_OK) else shutil.which("mpiexec")
    if found is None:
        raise UserError(f"mpi4py is installed but no mpiexec was found next to {sys.executable} or on PATH: "
                        f"{distributed.INSTALL}, or put your MPI's mpiexec on PATH")
    return found


def thread_environment(nproc):
    """The environment for N ranks on this machine: cores / N BLAS threads each (unless the user set them)."""
    env = dict(os.environ)
    threads = max(1, (os.cpu_count() or 1) // nproc)
    for name in THREAD_VARIABLES:                   # minilm/fast/threads.py takes as many threads as BLAS would
        env.setdefault(name, str(threads))
    return env


def launch(nproc, argv, name="train"):
    """mpiexec -n N python -m minilm NAME ARGV (NAME: train); returns its exit status (1 if a rank died)."""
    mpiexec = find_mpiexec()
    with tempfile.TemporaryDirectory(prefix="minilm-ranks-") as pid_folder:
        env = thread_environment(nproc)
        env["MINILM_RANK_PIDS"] = pid_folder
        env["PYTHONUNBUFFERED"] = "1"                 # rank 0's stdout is a pipe: pass each line on at once
        job = subprocess.Popen([mpiexec, "-n", str(nproc), sys.executable, "-m", "minilm", name, *argv],
                               env=env, stdout=subprocess.PIPE, start_new_session=True)  # (signals: below)
        output = []
        copier = threading.Thread(target=copy_output, args=(job.stdout, output), daemon=True)
        copier.start()
        status = wait_through_ctrl_c(job)
        copier.join()
        lost = LOST_PID.search(b"".join(output[-64:]))
        if lost is None:
            return status
        pid, host, code = int(lost[1]), lost[2].decode(), int(lost[3])
        ranks = {read_pid(pid_folder, r): r for r in range(nproc)}
        who = f"rank {ranks[pid]} of {nproc}" if pid in ranks else "a rank"
        print(f"minilm {name}: {who} (pid {pid} on {host}) ended without finishing (status {code}"
              f"{', killed by signal 9: out of memory or kill -9' if code == 9 else ''}); mpiexec stopped "
              f"the other ranks. {last_checkpoint_note(argv, nproc)}", file=sys.stderr)
        return 1


def copy_output(pipe, output):
    """Pass the ranks' standard output through line by line, keeping the last lines to read mpiexec's report."""
    for line in iter(pipe.readline, b""):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        output.append(line)
        del output[:-64]


def wait_through_ctrl_c(job):
    """Wait for mpiexec, passing it each Ctrl-C (SIGINT) and SIGTERM. At the first, mpiexec hands it
    to every rank and they save a checkpoint and stop; at a second Ctrl-C it kills them."""
    def forward(signum, frame):
        job.send_signal(signum)
    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return job.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def read_pid(folder, rank):
    try:
        with open(os.path.join(folder, str(rank))) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def last_checkpoint_note(argv, nproc):
    """Where the run's last complete checkpoint is, and how to continue from it."""
    from ..train.checkpoint import checkpoint_folder
    from ..train.config import TrainConfig
    out_dir = TrainConfig.out_dir
    for i, arg in enumerate(argv):
        key, eq, value = arg.partition("=")
        if key in ("--out_dir", "--out-dir"):
            out_dir = value if eq else (argv[i + 1] if i + 1 < len(argv) else out_dir)
    try:
        folder = checkpoint_folder(out_dir, "latest")
    except (FileNotFoundError, ValueError):
        return f"No checkpoint was written to {out_dir} yet."
    return (f"The last checkpoint, {folder}, is complete: continue with "
            f"`minilm train --resume --out_dir {out_dir} --nproc {nproc}`")
