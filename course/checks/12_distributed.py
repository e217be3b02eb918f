"""Lesson 12 checks: shards like minilm.distributed.batch_rows, a ring all-reduce's sums and traffic, and
the cost model against hand-computed values."""
import numpy as np

from minilm.course.checking import CheckFailed, expect, expect_close


def check_shard_rows(ex):
    """shard_rows gives equal consecutive shares covering the batch, and refuses an uneven split"""
    for B, W in [(12, 1), (12, 2), (12, 3), (12, 4), (12, 6)]:
        rows = [ex.shard_rows(B, r, W) for r in range(W)]
        covered = np.concatenate([np.arange(B)[s] for s in rows])
        expect(np.array_equal(covered, np.arange(B)) and len({len(np.arange(B)[s]) for s in rows}) == 1,
               f"batch {B} on {W} ranks: the shares {rows} are not equal consecutive slices, rank 0 first",
               check_shard_rows.hint)
    try:
        ex.shard_rows(10, 0, 4)
    except ValueError:
        return
    raise CheckFailed("shard_rows(10, 0, 4) returned a share: 10 rows do not split into 4 equal shares",
                      check_shard_rows.hint)


check_shard_rows.hint = ("share = batch_size // world_size; rank r takes slice(r * share, (r + 1) * share); raise "
                         "ValueError when batch_size % world_size is not 0")
check_shard_rows.hint_zh = ("share = batch_size // world_size；第 r 个进程取 slice(r * share, (r + 1) * share)；"
                            "batch_size % world_size 不为 0 时抛出 ValueError")


def check_ring_all_reduce(ex):
    """ring_all_reduce leaves the sum on every rank, and each rank sends 2 (W-1)/W of the array"""
    rng = np.random.default_rng(22)
    for W, N in [(2, 10), (4, 12), (5, 20)]:
        arrays = [rng.standard_normal(N) for _ in range(W)]
        originals = [a.copy() for a in arrays]
        results, sent = ex.ring_all_reduce(arrays)
        expect(len(results) == W, f"{len(results)} results for {W} ranks", check_ring_all_reduce.hint)
        for r, got in enumerate(results):
            expect_close(got, np.sum(originals, axis=0), f"rank {r}'s result with W = {W}", check_ring_all_reduce.hint)
        expect(sent == 2 * (W - 1) * N // W, f"with W = {W} and N = {N} each rank sent {sent} values; the ring sends "
               f"2 (W-1) chunks of N/W = {2 * (W - 1) * N // W}", check_ring_all_reduce.hint)


check_ring_all_reduce.hint = ("split each array into W chunks; reduce-scatter: for s in range(W-1), rank r sends chunk "
                              "(r - s) % W to rank (r + 1) % W, which adds it; all-gather: rank r sends chunk "
                              "(r + 1 - s) % W, which the next rank copies. Take every step's messages before applying them")
check_ring_all_reduce.hint_zh = ("把每个数组切成 W 块；reduce-scatter：对 s in range(W-1)，进程 r 把第 (r - s) % W 块发给进程 "
                                 "(r + 1) % W，后者把它加上；all-gather：进程 r 发送第 (r + 1 - s) % W 块，下一个进程直接"
                                 "复制。每一步先取出所有要发送的消息，再统一应用")


def check_predicted_step_time(ex):
    """predicted_step_time: one process costs t1; hand-computed values for 2 and 64 processes"""
    expect_close(ex.predicted_step_time(0.1, 3.2e6, 1, 1.25e9, 1e-5), 0.1, "W = 1", check_predicted_step_time.hint)
    expect_close(ex.predicted_step_time(0.1, 3.2e6, 2, 1.25e9, 1e-5), 0.1 + 3.2e6 / 1.25e9 + 2e-5, "W = 2",
                 check_predicted_step_time.hint)
    expect_close(ex.predicted_step_time(0.05, 4e8, 64, 1.25e10, 5e-6), 0.05 + 2 * 63 / 64 * 0.032 + 126 * 5e-6,
                 "W = 64", check_predicted_step_time.hint)


check_predicted_step_time.hint = "t1 + 2 * (W - 1) / W * gradient_bytes / bandwidth + 2 * (W - 1) * latency"
check_predicted_step_time.hint_zh = "用公式 t1 + 2 * (W - 1) / W * gradient_bytes / bandwidth + 2 * (W - 1) * latency 计算"
