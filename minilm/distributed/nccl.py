"""All-reduce of CuPy arrays with NCCL, the GPUs' own collectives (init("nccl"))."""
import cupy
from cupy.cuda import nccl

OPS = {"sum": nccl.NCCL_SUM, "mean": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}
TYPES = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64,
         "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64}


def communicator(rank, world_size, share):
    """Use GPU rank % n_gpus; the communicator's id is made by rank 0 and handed out by share(make_id)."""
    cupy.cuda.Device(rank % cupy.cuda.runtime.getDeviceCount()).use()
    unique_id = tuple(share(lambda: list(nccl.get_unique_id())))
    return nccl.NcclCommunicator(world_size, unique_id, rank)


def all_reduce(comm, arrays, op, wait_until):
    """Sum (or max, min) each array in place over the ranks; "mean" sums here, the caller divides."""
    stream = cupy.cuda.get_current_stream()
    for a in arrays:
        if not a.flags.c_contiguous or str(a.dtype) not in TYPES:
            raise TypeError(f"NCCL all_reduce needs contiguous arrays of {sorted(TYPES)}, got {a.dtype}")
    nccl.groupStart()                                   # one launch for all the arrays (buckets)
    for a in arrays:
        comm.allReduce(a.data.ptr, a.data.ptr, a.size, TYPES[str(a.dtype)], OPS[op], stream.ptr)
    nccl.groupEnd()
    wait_until(lambda: stream.done, f"all_reduce({op}) on the GPU")    # NCCL runs on the stream: same deadline
