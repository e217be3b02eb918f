"""Data-parallel training: W processes, one model each, gradients averaged by all-reduce.

Every process (a *rank*, 0 .. W-1) holds the whole model and works on its
1/W of each batch. Why averaging the ranks' gradients is the full-batch
gradient: the loss of a batch of B examples is a mean,

    L = (1/B) sum_i l_i = (1/W) sum_r [ (W/B) sum_{i in shard r} l_i ] = (1/W) sum_r L_r

and the gradient is linear, so dL/dw = (1/W) sum_r dL_r/dw: the mean over the
ranks of the gradient each computed on its own shard (of B/W examples). After
that average every rank holds the same gradient and takes the same optimizer
step, so the copies of the model never drift apart (only the float summation
order differs from one process, ~1e-7 relative in float32).

An *all-reduce* leaves the sum (or mean) of every rank's array on every rank.
In a ring (what MPI and NCCL use for large arrays) each rank sends its array
in W pieces: W-1 steps of reduce-scatter, then W-1 of all-gather, so each rank
sends and receives 2 (W-1)/W x bytes over its link, nearly independent of W.
A step's communication time is therefore ~ 2 (W-1)/W * gradient bytes / link
bandwidth + 2 (W-1) x latency (benchmarks/distributed.py measures both).

    from minilm import distributed
    from minilm.nn.data_parallel import DistributedDataParallel
    distributed.init()                       # from mpiexec's environment; 1 process: all no-ops
    model = DistributedDataParallel(GPT(cfg))    # rank 0's weights everywhere
    rows = distributed.batch_rows(B)         # this rank's slice of every global batch of B
    loss = model(x[rows], y[rows])[1]
    loss.backward()                          # ...and the gradients are already averaged
    optimizer.step()

Backends: MPI (mpi4py) for NumPy arrays, on one machine or many; NCCL (through
CuPy, its unique id handed around over MPI) for arrays on GPUs, selected by
init("nccl"), each rank then using GPU rank % n_gpus.

A rank that dies must not leave the others hanging: every collective here is
non-blocking underneath and waited on with a deadline (deadline.py); mpiexec
(MPICH's hydra) usually gets there first: when a rank dies it kills the others.
"""
import json
import os
from contextlib import contextmanager

import numpy as np

from ..backend import xp_of
from ..errors import UserError, user_message
from . import deadline

# environment variables by which launchers tell a process the size of its job
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")
INSTALL = "pip install 'minilm[distributed]' (mpi4py and MPICH's mpiexec)"

_comm = None           # mpi4py's COMM_WORLD once init() found a job of more than one process
_nccl = None           # a cupy.cuda.nccl.NcclCommunicator after init("nccl")
_peers = []            # (hostname, pid) of every rank, to name a lost one


def launched_size():
    """The number of processes mpiexec (or another MPI launcher) started this one among; 1 if none."""
    for name in SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def init(backend=None):
    """Join the job this process was launched in; a single process needs no MPI at all.

    backend: "mpi" (the default) reduces NumPy arrays with MPI; "nccl" also
    picks this rank's GPU and reduces CuPy arrays with NCCL. Calling it again
    does nothing. Returns the world size.
    """
    global _comm, _peers
    if backend not in (None, "mpi", "nccl"):
        raise ValueError(f"unknown distributed backend {backend!r}; expected 'mpi' or 'nccl'")
    if _comm is None and launched_size() > 1:
        try:
            from mpi4py import MPI
        except ImportError:
            raise UserError(f"this process was started as one of {launched_size()} MPI processes, but "
                            f"mpi4py is not installed: {INSTALL}") from None
        _comm = MPI.COMM_WORLD
        _comm.Set_errhandler(MPI.ERRORS_RETURN)          # an MPI error raises instead of aborting
        _peers = _comm.allgather((os.uname().nodename, os.getpid()))   # (two plain values, between our processes)
        _record_pid()
        limit_threads(local_size())
    if backend == "nccl" and _nccl is None and world_size() > 1:
        _init_nccl()
    return world_size()


def rank():
    return 0 if _comm is None else _comm.Get_rank()


def world_size():
    return 1 if _comm is None else _comm.Get_size()


def is_main():
    """Rank 0 prints, logs and writes checkpoints."""
    return rank() == 0


def local_size():
    """How many ranks of the job run on this machine (they share its cores)."""
    here = os.uname().nodename
    return sum(host == here for host, _ in _peers) or 1


def describe(batch_size):
    """', on 2 processes (6 rows of each batch of 12 each; rank 0 is pid 1529 on vm, ...)', or '' for one."""
    if world_size() == 1:
        return ""
    pids = ", ".join(f"rank {r} is pid {pid} on {host}" for r, (host, pid) in enumerate(_peers))
    return f", on {world_size()} processes ({batch_size // world_size()} rows of each batch of {batch_size} each; {pids})"


def limit_threads(processes):
    """Give each of `processes` ranks on this machine its share of the cores: at most cores / W
    threads for minilm's own work (minilm/fast/threads.py) and for BLAS.

    `minilm train --nproc` sets OPENBLAS_NUM_THREADS before NumPy loads (minilm/fast/threads.py
    follows it); under a plain mpiexec this lowers both at run time, never raising them.
    """
    from threadpoolctl import ThreadpoolController
    from ..fast import threads as parallel
    threads = max(1, (os.cpu_count() or 1) // processes)
    parallel.set_threads(min(parallel.threads(), threads))
    blas = ThreadpoolController().select(user_api="blas")
    if any(lib.num_threads > threads for lib in blas.lib_controllers):
        blas.limit(limits=threads)
    return threads


def _record_pid():
    """Leave this rank's pid where `minilm train --nproc` can read it, to name a rank that dies."""
    folder = os.environ.get("MINILM_RANK_PIDS")
    if folder:
        with open(os.path.join(folder, str(rank())), "w") as f:
            f.write(str(os.getpid()))


def batch_rows(batch_size):
    """This rank's rows of a global batch: equal, consecutive slices, rank 0 first.

    Equal, because the mean of the ranks' mean losses is the batch's mean loss
    only when every rank averages over as many examples.
    """
    W, r = world_size(), rank()
    if batch_size % W:
        raise ValueError(f"batch_size {batch_size} does not split into {W} equal shares, one per process: "
                         f"use a multiple of {W} (e.g. {-(-batch_size // W) * W}) or another number of processes")
    share = batch_size // W
    return slice(r * share, (r + 1) * share)


@contextmanager
def main_first():
    """Rank 0 runs the body first (it may write files the others then read), then the other ranks.

    If the body fails on rank 0, the others exit at once with the same status
    and say nothing: rank 0 prints the one message.
    """
    if world_size() == 1:
        yield
        return
    if is_main():
        try:
            yield
        except BaseException as error:
            reported = user_message(error)
            broadcast_object(1 if reported is None else reported[1])
            raise
        broadcast_object(0)
    else:
        status = broadcast_object(None)
        if status:
            raise SystemExit(status)
        yield


# ---------------------------------------------------------------- waiting with a deadline (deadline.py)
def _wait(requests, what):
    """Wait for MPI requests, with the deadline of deadline.wait_until."""
    from mpi4py import MPI
    _wait_until(lambda: MPI.Request.Testall(requests), what)


def _wait_until(done, what):
    deadline.wait_until(done, what, _peers, rank())


# ---------------------------------------------------------------- collectives on lists of arrays
OPS = ("sum", "mean", "max", "min")       # mean: a sum, then divided by the world size


def _mpi_op(op):
    from mpi4py import MPI
    return {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def all_reduce(arrays, op="mean"):
    """Replace every array (in place) by its sum/mean/max/min over the ranks; returns the list.

    Arrays may differ in shape and dtype; "mean" needs floating point. CuPy
    arrays go through NCCL after init("nccl"), otherwise through the host.
    """
    if op not in OPS:
        raise ValueError(f"all_reduce op must be one of {OPS}, got {op!r}")
    if op == "mean":
        for a in arrays:
            if a.dtype.kind not in "fc":
                raise TypeError(f"all_reduce(op='mean') needs floating-point arrays, got {a.dtype}; "
                                "use op='sum' for integers")
    if world_size() == 1:
        return arrays
    if _nccl is not None and arrays and all(xp_of(a) is not np for a in arrays):
        _nccl_all_reduce(arrays, op)
    else:
        with _on_host(arrays) as host:
            from mpi4py import MPI
            _wait([_comm.Iallreduce(MPI.IN_PLACE, a, _mpi_op(op)) for a in host], f"all_reduce({op})")
    if op == "mean":
        for a in arrays:
            a /= world_size()
    return arrays


def broadcast(arrays, root=0):
    """Overwrite every array (in place) with rank `root`'s values; returns the list."""
    if world_size() == 1:
        return arrays
    with _on_host(arrays) as host:
        _wait([_comm.Ibcast(a, root=root) for a in host], "broadcast")
    return arrays


def all_gather(array, axis=0):
    """The ranks' arrays (all of one shape) joined along `axis`, rank 0's first, on every rank.

    Data-parallel training uses it for state that is split by batch rows, such
    as a recurrent model's hidden state, when a checkpoint needs all of it.
    """
    if world_size() == 1:
        return array
    xp = xp_of(array)
    with _on_host([array]) as (host,):
        rows_first = np.ascontiguousarray(np.moveaxis(host, axis, 0))
        gathered = np.empty((world_size(),) + rows_first.shape, rows_first.dtype)      # (W, n, ...)
        _wait([_comm.Iallgather(rows_first, gathered)], "all_gather")
    joined = np.moveaxis(gathered.reshape((-1,) + rows_first.shape[1:]), 0, axis)     # (W n, ...) along axis
    return joined if xp is np else xp.asarray(joined)


def barrier():
    """Return once every rank has called barrier()."""
    if world_size() > 1:
        _wait([_comm.Ibarrier()], "barrier")


def broadcast_object(value, root=0):
    """A small JSON value (a flag, an error message, NCCL's id) from rank `root` to every rank."""
    if world_size() == 1:
        return value
    encoded = np.frombuffer(json.dumps(value).encode(), dtype=np.uint8) if rank() == root else None
    length = broadcast([np.array([0 if encoded is None else encoded.size], dtype=np.int64)], root)[0]
    buffer = broadcast([encoded if encoded is not None else np.empty(int(length[0]), np.uint8)], root)[0]
    return json.loads(buffer.tobytes().decode())


@contextmanager
def _on_host(arrays):
    """Contiguous NumPy arrays that MPI can read and write; copied back into `arrays` afterwards.

    A CuPy array is staged through the host: the mpich wheel's MPI cannot read GPU memory.
    """
    host = [np.ascontiguousarray(a) if xp_of(a) is np else xp_of(a).asnumpy(a) for a in arrays]
    yield host
    for a, h in zip(arrays, host):
        if h is not a:
            a[...] = h if xp_of(a) is np else xp_of(a).asarray(h)


# ---------------------------------------------------------------- NCCL for CuPy arrays (nccl.py)
def _init_nccl():
    """This rank's GPU (rank % n_gpus) and an NCCL communicator whose id rank 0 made and MPI handed out."""
    global _nccl
    from . import nccl
    _nccl = nccl.communicator(rank(), world_size(), lambda make_id: broadcast_object(make_id() if is_main() else None))


def _nccl_all_reduce(arrays, op):
    from . import nccl
    nccl.all_reduce(_nccl, arrays, op, _wait_until)
