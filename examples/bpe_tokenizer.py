"""Train a byte-level BPE tokenizer on Shakespeare, look at what it learned, and use it.

    python examples/bpe_tokenizer.py [--vocab-size 1024] [--pattern gpt4|gpt2]
"""
import os
import sys
import tempfile
import time

from minilm.cli import run_script
from minilm.cli.parser import CommandParser
from minilm.data import load_corpus
from minilm.tokenizers import BPETokenizer


def main(argv=None):
    p = CommandParser(description=__doc__.split("\n")[0])
    p.add_argument("--vocab-size", type=int, default=1024)
    p.add_argument("--pattern", default="gpt4")
    p.add_argument("--device", default="cpu", help="(unused: tokenizers run on the host)")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    text = load_corpus("shakespeare")
    if args.smoke:
        text, args.vocab_size = text[:20_000], 300
    start = time.time()
    tok = BPETokenizer(args.pattern).train(text, args.vocab_size)
    tok.add_special_token("<|endoftext|>")
    print(f"learned {len(tok.merges)} merges in {time.time() - start:.2f} s")
    print("first merges:", *tok.merge_strings()[:8], sep="\n  ")
    print("last merges:", *tok.merge_strings()[-5:], sep="\n  ")
    sample = "ROMEO:\nBut soft, what light through yonder window breaks?<|endoftext|>"
    ids = tok.encode(sample, allowed_special={"<|endoftext|>"})
    print(f"\n{len(sample)} characters -> {len(ids)} tokens:")
    print(" | ".join(tok.decode([i]) for i in ids))
    assert tok.decode(ids) == sample
    ratio = len(text.encode()) / len(tok.encode(text))
    print(f"compression on the corpus: {ratio:.2f} bytes per token")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "shakespeare-bpe.json")
        tok.save(path)
        assert BPETokenizer.load(path).encode(sample, allowed_special="all") == ids
        print(f"saved and reloaded {os.path.getsize(path):,} bytes of JSON")


if __name__ == "__main__":
    sys.exit(run_script(main))
