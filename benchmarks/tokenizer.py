"""BPE tokenizer speed on tiny Shakespeare: training time per vocabulary size, encode/decode throughput.

    python benchmarks/tokenizer.py
tiktoken (when installed) encodes with the same merges and pattern for comparison.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minilm.data import load_corpus  # noqa: E402
from minilm.tokenizers import BPETokenizer  # noqa: E402


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    text = load_corpus("shakespeare")
    megabytes = len(text.encode()) / 1e6
    print(f"corpus: {megabytes:.2f} MB\n")
    print(f"{'vocab':>6}{'train s':>9}{'encode MB/s':>13}{'(cold)':>8}{'decode MB/s':>13}{'tiktoken MB/s':>15}")
    for vocab in (512, 1024, 4096):
        seconds, tok = best_of(lambda: BPETokenizer("gpt4").train(text, vocab), repeats=1)
        tok.cache.clear()
        cold, ids = best_of(lambda: tok.encode(text), repeats=1)
        warm, ids = best_of(lambda: tok.encode(text))
        dec, _ = best_of(lambda: tok.decode(ids))
        try:
            import tiktoken
            enc = tiktoken.Encoding(name="bench", pat_str=tok.pattern, special_tokens={},
                                    mergeable_ranks={b: i for i, b in tok.vocab.items()})
            tt, tt_ids = best_of(lambda: enc.encode_ordinary(text))
            assert tt_ids == ids
            tiktoken_rate = f"{megabytes / tt:>15.1f}"
        except ImportError:
            tiktoken_rate = f"{'n/a':>15}"
        print(f"{vocab:>6}{seconds:>9.2f}{megabytes / warm:>13.2f}{megabytes / cold:>8.2f}{megabytes / dec:>13.1f}"
              f"{tiktoken_rate}")


if __name__ == "__main__":
    main()
