"""Data-parallel training over MPI: collectives, DistributedDataParallel, `minilm train --nproc`, a lost rank.

The MPI tests start small jobs of 2 processes with the mpiexec of the mpich wheel (the
`distributed` extra, also in `dev`); each job is independent, so pytest-xdist may run two at once.
Without MPI they are skipped, and the tests of a single process (no MPI needed) still run.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minilm
from minilm import autograd, distributed
from minilm.nn.data_parallel import DistributedDataParallel
from minilm.errors import UserError
from minilm.models.gpt import GPT, GPTConfig

MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")
if not os.access(MPIEXEC, os.X_OK):
    MPIEXEC = shutil.which("mpiexec")
try:
    import mpi4py  # noqa: F401
except ImportError:
    MPIEXEC = None
# the tests of one process run anywhere; those that start MPI jobs need the distributed extra (in dev)
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="needs mpi4py and mpiexec: pip install -e '.[distributed]'")
WORKER = os.path.join(os.path.dirname(__file__), "mpi_worker.py")
TINY = ["--n_layer", "1", "--n_head", "2", "--n_embd", "16", "--block_size", "16", "--batch_size", "4",
        "--eval_interval", "3", "--eval_iters", "2", "--warmup_iters", "2", "--lr_decay_iters", "8",
        "--sample_tokens", "8", "--no-progress"]


def rank_environment():
    """This test process's environment without the variables by which a launcher names a job."""
    return {k: v for k, v in os.environ.items() if k not in distributed.SIZE_VARIABLES and not k.startswith("PMI_")}


def run(command, timeout=120, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=rank_environment(), **kwargs)


def minilm_train(*args):
    return [sys.executable, "-m", "minilm", "train", *TINY, *args]


def log_records(out_dir):
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def step_losses(out_dir):
    return {r["step"]: r["loss"] for r in log_records(out_dir) if "loss" in r}


# ---------------------------------------------------------------- one process: no MPI needed
def test_one_process_is_a_no_op_without_mpi(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)            # as if mpi4py were not installed
    assert distributed.init() == 1 and distributed.rank() == 0 and distributed.is_main()
    arrays = [np.arange(3.0), np.ones((2, 2), dtype=np.float32)]
    assert distributed.all_reduce(arrays)[0] is arrays[0] and arrays[0].tolist() == [0.0, 1.0, 2.0]
    assert distributed.broadcast(arrays)[1].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    distributed.barrier()
    assert distributed.batch_rows(12) == slice(0, 12)
    minilm.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4))
    ddp = DistributedDataParallel(model)
    assert ddp.average_gradients not in autograd.post_backward_hooks   # nothing runs after backward
    with pytest.raises(TypeError, match="op='sum' for integers"):
        distributed.all_reduce([np.arange(3)])


def test_size_from_the_launchers_environment_and_a_missing_mpi4py(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    assert distributed.launched_size() == 4
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(UserError, match=r"one of 4 MPI processes.*pip install 'minilm\[distributed\]'"):
        distributed.init()


def test_batch_rows_must_split_evenly(monkeypatch):
    monkeypatch.setattr(distributed, "world_size", lambda: 5)
    with pytest.raises(ValueError, match="batch_size 12 does not split into 5 equal shares.*e.g. 15"):
        distributed.batch_rows(12)


def test_nproc_without_mpi_says_how_to_install_it(monkeypatch, capsys):
    from minilm.cli import main
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["train", "--nproc", "2"]) == 2
    assert "pip install 'minilm[distributed]'" in capsys.readouterr().err


def test_a_dead_or_zombie_process_counts_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert not distributed.deadline.gone(child.pid)
    child.kill()
    time.sleep(0.2)                                             # not waited for: a zombie
    assert distributed.deadline.gone(child.pid)
    child.wait()
    assert distributed.deadline.gone(child.pid)


# ---------------------------------------------------------------- two ranks under mpiexec
@needs_mpi
def test_collectives_and_data_parallel_gradients_on_two_ranks(tmp_path):
    done = run([MPIEXEC, "-n", "2", sys.executable, WORKER, str(tmp_path), "checks"], timeout=60)
    assert done.returncode == 0, done.stderr
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in range(2)]
    for got in ranks:
        assert got["world_size"] == 2
        assert got["mean"] == [[1.5] * 3, [[0.5, 0.5]] * 2, [[0.0, 4.5], [1.5, 6.0], [3.0, 7.5]]]
        assert got["mean_dtypes"] == ["float64", "float32", "float64"]
        assert got["sum"] == [[0, 3, 6, 9], [1]] and got["max"] == [1.0, 0.0]
        assert got["broadcast"] == [[[10.0] * 3] * 2, [1, 1, 1, 1], True]
        assert got["object"] == {"from": 0, "text": "é"}
        assert got["nan_everywhere"]
        assert got["gathered"] == [[0.0, 1.0], [0.0, 1.0]]          # (2, 2, 3): rank 0's rows first
        assert got["buckets"] > 1
        # two ranks, each on its half of the batch: the full batch's gradient
        assert got["shard_vs_full"] < 1e-10 and got["accumulated_vs_full"] < 1e-10
        assert got["no_sync_differs"] > 1e-3                    # no_sync did not average
    # different initialisations, made equal by the broadcast
    assert ranks[0]["weights_sum"] == ranks[1]["weights_sum"]


@needs_mpi
def test_a_lost_rank_is_named_by_the_ranks_still_running(tmp_path):
    # each rank runs under a shell that outlives it, so mpiexec does not see rank 1 die and
    # kill rank 0: rank 0 has to notice by itself that the process of rank 1 is gone
    start = time.monotonic()
    shell = f'"{sys.executable}" "{WORKER}" "{tmp_path}" lose-rank; code=$?; [ $code = 137 ] && sleep 20; exit $code'
    done = run([MPIEXEC, "-n", "2", "sh", "-c", shell], timeout=60)
    assert done.returncode != 0
    assert "minilm rank 0: rank 1 (pid" in done.stderr and "stopped running during all_reduce" in done.stderr
    assert time.monotonic() - start < 15


@needs_mpi
def test_a_silent_rank_is_given_up_after_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("MINILM_DIST_TIMEOUT", "2")
    start = time.monotonic()
    done = run([MPIEXEC, "-n", "2", sys.executable, WORKER, str(tmp_path), "silent-rank"], timeout=60)
    assert done.returncode != 0
    assert "minilm rank 0: no answer from the other ranks for 2 s (MINILM_DIST_TIMEOUT)" in done.stderr
    assert time.monotonic() - start < 30


@needs_mpi
def test_train_on_two_processes_follows_the_one_process_curve_and_resumes_on_either(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    # two micro-batches per step: the ranks reduce once per step, after the second
    ref = run(minilm_train("--max_iters", "8", "--out_dir", str(one), "--gradient_accumulation_steps", "2"))
    assert ref.returncode == 0, ref.stderr
    par = run(minilm_train("--max_iters", "6", "--out_dir", str(two), "--gradient_accumulation_steps", "2",
                           "--nproc", "2"))
    assert par.returncode == 0, par.stderr
    assert par.stdout.count("final: train loss") == 1 and par.stdout.count("step 3: train loss") == 1
    by_hand = tmp_path / "by-hand"                              # mpiexec started by the user
    hand = run([MPIEXEC, "-n", "2"] + minilm_train("--max_iters", "6", "--out_dir", str(by_hand),
                                                   "--gradient_accumulation_steps", "2"))
    assert hand.returncode == 0, hand.stderr
    expected = step_losses(one)
    for folder in (two, by_hand):
        records = log_records(folder)
        assert [r["step"] for r in records if "loss" in r] == list(range(1, 7))   # one writer: each step once
        for step, loss in step_losses(folder).items():
            assert loss == pytest.approx(expected[step], rel=1e-3)
    # the checkpoint holds no per-rank state: it continues on 1 process and on 2
    for name, launcher in (("on-one", []), ("on-two", [MPIEXEC, "-n", "2"])):
        shutil.copytree(two, tmp_path / name)
        resumed = run(launcher + [sys.executable, "-m", "minilm", "train", "--resume", "--out_dir",
                                  str(tmp_path / name), "--max_iters", "8", "--no-progress"])
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.count("resumed from") == 1
        continued = step_losses(tmp_path / name)
        assert sorted(continued) == list(range(1, 9))
        for step in (7, 8):
            assert continued[step] == pytest.approx(expected[step], rel=1e-3)


def processes_training(out_dir):
    """(pid, rank) of the processes whose command line trains into out_dir."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        except OSError:
            continue
        if os.fsencode(out_dir) in cmdline and b"PMI_RANK" in environ:
            found.append((int(pid), int(environ[b"PMI_RANK"])))
    return found


def start_long_run(out_dir):
    """`minilm train --nproc 2` for (nearly) ever, once its first checkpoint is written."""
    job = subprocess.Popen(minilm_train("--max_iters", "100000", "--lr_decay_iters", "100000", "--out_dir", out_dir,
                                        "--nproc", "2"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rank_environment())
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(out_dir, "checkpoint.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    return job


@needs_mpi
def test_a_killed_rank_ends_the_job_naming_it_and_the_checkpoint_loads(tmp_path):
    out_dir = str(tmp_path / "run")
    job = start_long_run(out_dir)
    try:
        time.sleep(0.5)
        ranks = dict((rank, pid) for pid, rank in processes_training(out_dir))
        assert sorted(ranks) == [0, 1]
        os.kill(ranks[1], signal.SIGKILL)
        start = time.monotonic()
        _, stderr = job.communicate(timeout=120)
    finally:
        job.kill()
    assert time.monotonic() - start < 120
    assert job.returncode == 1
    assert f"rank 1 of 2 (pid {ranks[1]}" in stderr and "continue with `minilm train --resume" in stderr
    time.sleep(0.5)
    assert processes_training(out_dir) == []                    # nothing left behind
    from minilm.train.trained import load_trained
    model, _, _, state = load_trained(out_dir, "latest")
    assert state["step"] % 3 == 0 and model.num_parameters() > 0


@needs_mpi
def test_ctrl_c_on_the_launcher_stops_every_rank_after_saving_the_same_step(tmp_path):
    out_dir = str(tmp_path / "run")
    job = start_long_run(out_dir)
    try:
        time.sleep(0.5)                                            # both ranks past their first checkpoint
        job.send_signal(signal.SIGINT)
        _, stderr = job.communicate(timeout=90)
    finally:
        job.kill()
    assert job.returncode == 130, stderr
    assert stderr.count("interrupted at step") == 1, stderr       # rank 0 says it, once
    step = int(stderr.split("interrupted at step ")[1].split(";")[0])
    from minilm.train.checkpoint import checkpoint_folder, load_state
    assert load_state(checkpoint_folder(out_dir, "latest"))["step"] == step
    assert processes_training(out_dir) == []


@needs_mpi
def test_an_error_of_rank_0_before_training_is_said_once_and_stops_every_rank(tmp_path):
    out_dir = tmp_path / "run"
    out_dir.mkdir()
    (out_dir / "log.jsonl").write_text("")                      # a run's log: refused without --resume
    start = time.monotonic()
    done = run(minilm_train("--max_iters", "6", "--out_dir", str(out_dir), "--nproc", "2"), timeout=60)
    assert done.returncode == 2 and done.stderr.count("already holds") == 1, done.stderr
    assert time.monotonic() - start < 30
    assert sorted(p.name for p in out_dir.iterdir()) == ["log.jsonl"]       # nothing written


def gpu_count():
    if not minilm.cuda_available():
        return 0
    import cupy
    return cupy.cuda.runtime.getDeviceCount()


@needs_mpi
@pytest.mark.skipif(gpu_count() < 2, reason="NCCL between 2 ranks needs 2 GPUs (one per rank)")
def test_nccl_all_reduce_and_data_parallel_gradients_on_two_gpus(tmp_path):
    done = run([MPIEXEC, "-n", "2", sys.executable, WORKER, str(tmp_path), "nccl"], timeout=120)
    assert done.returncode == 0, done.stderr
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in range(2)]
    assert [got["device"] for got in ranks] == [0, 1]                  # GPU rank % GPUs
    for got in ranks:
        assert got["nccl_mean"] == [[1.5] * 5, [[1.5, 1.5]] * 2]
        assert got["nccl_broadcast"] == [1.0] * 3
        assert got["nccl_shard_vs_full"] < 1e-5                         # float32 on the GPU


@pytest.mark.skipif(gpu_count() < 1, reason="needs a GPU")
def test_nccl_all_reduce_with_one_rank(monkeypatch):
    import cupy
    from cupy.cuda import nccl
    monkeypatch.setattr(distributed, "_nccl", nccl.NcclCommunicator(1, nccl.get_unique_id(), 0))
    arrays = [cupy.arange(4, dtype=cupy.float32), cupy.ones((2, 3), dtype=cupy.int64)]
    distributed._nccl_all_reduce(arrays, "sum")
    assert cupy.asnumpy(arrays[0]).tolist() == [0, 1, 2, 3] and int(arrays[1].sum()) == 6


@needs_mpi
def test_the_lstm_splits_its_streams_and_the_checkpoint_holds_all_of_them(tmp_path):
    lstm = ["--preset", "shakespeare-lstm", "--lstm_embedding", "8", "--lstm_hidden", "16", "--lstm_layers", "1"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert run(minilm_train(*lstm, "--max_iters", "8", "--out_dir", str(one))).returncode == 0
    par = run(minilm_train(*lstm, "--max_iters", "6", "--out_dir", str(two), "--nproc", "2"))
    assert par.returncode == 0, par.stderr
    # resumed on one process, all 4 streams continue from the hidden state the 2 ranks gathered
    resumed = run([sys.executable, "-m", "minilm", "train", "--resume", "--out_dir", str(two), "--max_iters", "8",
                   "--no-progress"])
    assert resumed.returncode == 0, resumed.stderr
    expected, got = step_losses(one), step_losses(two)
    assert sorted(got) == list(range(1, 9))
    for step in got:
        assert got[step] == pytest.approx(expected[step], rel=1e-3)


@needs_mpi
def test_a_non_finite_loss_stops_every_rank_with_one_message(tmp_path):
    # (a NaN on one rank only reaches every rank through the loss all-reduce: see the worker's checks)
    # (AdamW's learning rate reaches every weight; Muon's hidden matrices would keep theirs: the classic preset)
    done = run(minilm_train("--preset", "shakespeare-char", "--max_iters", "6", "--warmup_iters", "0", "--learning_rate",
                            "1e30", "--min_lr", "0", "--out_dir", str(tmp_path / "run"), "--nproc", "2"), timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("minilm train: stopping: the loss became nan at step ") == 1, done.stderr
