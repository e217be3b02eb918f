"""Run under mpiexec by tests/test_distributed.py: `mpiexec -n 2 python tests/mpi_worker.py OUT MODE`.

MODE "checks": collectives and DistributedDataParallel ("nccl": the same on GPUs); each rank writes OUT/rank-R.json with
what it measured (the test compares). MODE "lose-rank": rank 1 kills itself
between all-reduces; rank 0 must notice, name it and exit (run under a shell that outlives the
process, so that mpiexec does not notice and kill rank 0 first). MODE "silent-rank": rank 1 stops
answering; rank 0 gives up after MINILM_DIST_TIMEOUT seconds.
"""
import json
import os
import signal
import sys
import time

import numpy as np

import minilm
from minilm import distributed
from minilm.nn.data_parallel import DistributedDataParallel
from minilm.models.gpt import GPT, GPTConfig


def collectives(r):
    out = {}
    mixed = [np.full(3, r + 1.0), np.full((2, 2), r, dtype=np.float32), np.arange(6.0).reshape(2, 3).T]
    mixed[2] *= r + 1                                           # a transposed (non-contiguous) view
    distributed.all_reduce(mixed)                               # mean
    out["mean"] = [a.tolist() for a in mixed]
    out["mean_dtypes"] = [str(a.dtype) for a in mixed]
    ints = [np.arange(4, dtype=np.int64) * (r + 1), np.array([r], dtype=np.int32)]
    out["sum"] = [a.tolist() for a in distributed.all_reduce(ints, op="sum")]
    out["max"] = distributed.all_reduce([np.array([r, -r], dtype=np.float64)], op="max")[0].tolist()
    sent = [np.full((2, 3), 10.0 * r), np.full(4, r, dtype=np.int16), np.array(r == 1)]
    out["broadcast"] = [a.tolist() for a in distributed.broadcast(sent, root=1)]
    out["object"] = distributed.broadcast_object({"from": r, "text": "é"})
    # a NaN on one rank is a NaN on all: how every rank sees a non-finite loss at the same step
    out["nan_everywhere"] = bool(np.isnan(distributed.all_reduce([np.array([np.nan if r == 1 else 1.0])])[0][0]))
    out["gathered"] = distributed.all_gather(np.full((2, 1, 3), float(r)), axis=1)[:, :, 0].tolist()
    distributed.barrier()
    return out


def tiny_gpt(seed):
    minilm.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)).to(dtype=np.float64)


def grads(model):
    return {n: p.grad.copy() for n, p in model.named_parameters()}


def largest_difference(a, b):
    return max(float(np.abs(a[n] - b[n]).max()) for n in a)


def data_parallel(r, W):
    """Gradients of DistributedDataParallel against one process's full-batch gradient."""
    model = tiny_gpt(seed=100 + r)                              # a different initialisation on every rank
    ddp = DistributedDataParallel(model, bucket_mb=0.01)   # several buckets
    rng = np.random.default_rng(0)
    x = [rng.integers(0, 11, (4, 8)) for _ in range(2)]         # two global batches of B = 4
    y = [rng.integers(0, 11, (4, 8)) for _ in range(2)]
    rows = distributed.batch_rows(4)
    weights = np.concatenate([p.data.ravel() for p in model.parameters()])
    out = {"buckets": len(ddp.buckets), "weights_sum": float(weights.sum())}
    with ddp.no_sync():                                         # the reference: one process, full batch
        model(minilm.Tensor(x[0]), minilm.Tensor(y[0]))[1].backward()
    full = grads(model)
    with ddp.no_sync():
        model(minilm.Tensor(x[1]), minilm.Tensor(y[1]))[1].backward()
    full_two = grads(model)                                     # batch 0 + batch 1, accumulated
    model.zero_grad()
    ddp(minilm.Tensor(x[0][rows]), minilm.Tensor(y[0][rows]))[1].backward()   # averaged when it returns
    out["shard_vs_full"] = largest_difference(grads(model), full)
    model.zero_grad()
    with ddp.no_sync():                                         # accumulation: reduce once, at the end
        ddp(minilm.Tensor(x[0][rows]), minilm.Tensor(y[0][rows]))[1].backward()
    out["no_sync_differs"] = largest_difference(grads(model), full)
    ddp(minilm.Tensor(x[1][rows]), minilm.Tensor(y[1][rows]))[1].backward()
    out["accumulated_vs_full"] = largest_difference(grads(model), full_two)
    return out


def nccl_checks(r):
    """On GPUs: NCCL all-reduce of CuPy arrays, a broadcast through the host, DDP on cuda."""
    import cupy
    arrays = [cupy.full(5, r + 1.0, dtype=cupy.float32), cupy.full((2, 2), r + 1.0, dtype=cupy.float64)]
    distributed.all_reduce(arrays)
    out = {"nccl_mean": [cupy.asnumpy(a).tolist() for a in arrays], "device": cupy.cuda.Device().id}
    sent = distributed.broadcast([cupy.full(3, float(r))], root=1)[0]
    out["nccl_broadcast"] = cupy.asnumpy(sent).tolist()
    minilm.manual_seed(100 + r)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)).to("cuda")
    ddp = DistributedDataParallel(model)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 11, (4, 8)), rng.integers(0, 11, (4, 8))
    with ddp.no_sync():
        model(minilm.Tensor(x, device="cuda"), minilm.Tensor(y, device="cuda"))[1].backward()
    full = {n: cupy.asnumpy(p.grad) for n, p in model.named_parameters()}
    model.zero_grad()
    rows = distributed.batch_rows(4)
    ddp(minilm.Tensor(x[rows], device="cuda"), minilm.Tensor(y[rows], device="cuda"))[1].backward()
    out["nccl_shard_vs_full"] = max(float(np.abs(cupy.asnumpy(p.grad) - full[n]).max())
                                    for n, p in model.named_parameters())
    return out


def main(out_dir, mode):
    W = distributed.init("nccl" if mode == "nccl" else "mpi")
    r = distributed.rank()
    if mode == "nccl":
        with open(os.path.join(out_dir, f"rank-{r}.json"), "w") as f:
            json.dump(nccl_checks(r), f)
        return
    if mode in ("lose-rank", "silent-rank"):
        for step in range(1000):
            if r == 1 and step == 3:
                if mode == "silent-rank":
                    time.sleep(60)                              # alive, but never answers
                os.kill(os.getpid(), signal.SIGKILL)
            distributed.all_reduce([np.ones(8)])
        return
    result = {"rank": r, "world_size": W, **collectives(r), **data_parallel(r, W)}
    with open(os.path.join(out_dir, f"rank-{r}.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
