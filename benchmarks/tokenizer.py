"""BPE tokenizer speed on tiny Shakespeare: training time per vocabulary size, encode/decode throughput.

    python benchmarks/tokenizer.py

For each vocabulary size: train (GPT-4 split pattern), then check the ids
against tiktoken built offline from the same merges and the round trip
decode(encode(text)) == text, and only then time. Encoding is timed cold (an
empty chunk cache: every distinct chunk is merged once) and warm (the cache
holds every chunk of the corpus, as when encoding more text of the same kind).
tiktoken's encode on the same merges is the Rust ceiling beside it.
Targets: vocab 4096 trains in <= 10 s on 2 cores; encoding >= 2 MB/s.
"""
import os
import sys
import time

import tiktoken

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minilm.data import load_corpus  # noqa: E402
from minilm.tokenizers import BPETokenizer  # noqa: E402


def best_of(fn, repeats=3):
    """(fastest time in seconds, the result)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    text = load_corpus("shakespeare")
    megabytes = len(text.encode()) / 1e6
    print(f"tiny Shakespeare: {megabytes:.2f} MB, GPT-4 split pattern, MB/s of UTF-8 text\n")
    print(f"{'vocab':>6}{'train s':>9}{'encode MB/s':>13}{'cold':>7}{'decode MB/s':>13}{'tiktoken MB/s':>15}")
    for vocab in (512, 1024, 4096):
        seconds, tok = best_of(lambda: BPETokenizer("gpt4").train(text, vocab), repeats=1)
        tok.cache.clear()
        cold, ids = best_of(lambda: tok.encode(text), repeats=1)
        reference = tiktoken.Encoding(name=f"bench-{vocab}", pat_str=tok.pattern, special_tokens={},
                                      mergeable_ranks={b: i for i, b in tok.vocab.items()})
        assert reference.encode_ordinary(text) == ids, "ids differ from tiktoken's on the same merges"
        assert tok.decode(ids) == text, "decode(encode(text)) is not the text"
        warm, _ = best_of(lambda: tok.encode(text))
        decode, _ = best_of(lambda: tok.decode(ids))
        reference_time, _ = best_of(lambda: reference.encode_ordinary(text))
        print(f"{vocab:>6}{seconds:>9.2f}{megabytes / warm:>13.2f}{megabytes / cold:>7.2f}"
              f"{megabytes / decode:>13.1f}{megabytes / reference_time:>15.1f}")


if __name__ == "__main__":
    main()
