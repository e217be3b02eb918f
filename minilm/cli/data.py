"""`minilm prepare`: a text file tokenized into a dataset folder (token files and meta.json).

A folder that already holds a prepared dataset is refused, as `minilm train` refuses a trained
run folder, unless --overwrite is given: a dataset can take long to make (a BPE tokenizer).
"""
import os

from ..data import load_corpus, prepare as prepare_dataset
from ..data.prepare import load_meta
from ..errors import RunExists
from ..train.config import RULES, TrainConfig
from ..train.setup import build_tokenizer
from .parser import CommandParser, checked


def prepare(argv):
    p = CommandParser(prog="minilm prepare", description="Tokenize a text file into a dataset folder.")
    p.add_argument("--input", default="shakespeare", help="a text file, or a bundled corpus name")
    p.add_argument("--out", required=True, help="the dataset folder to write")
    p.add_argument("--tokenizer", default="char", choices=["char", "bpe"])
    p.add_argument("--vocab-size", type=checked(int, RULES["bpe_vocab_size"]), default=512, help="for bpe")
    p.add_argument("--encoding", default="utf-8", help="the text encoding of --input (default utf-8, strict)")
    p.add_argument("--overwrite", action="store_true", help="replace the dataset already in --out")
    args = p.parse_args(argv)
    if os.path.exists(os.path.join(args.out, "meta.json")) and not args.overwrite:
        meta = load_meta(args.out)
        raise RunExists(f"{args.out} already holds a prepared dataset ({sum(meta['tokens'].values()):,} tokens, "
                        f"vocabulary {meta['vocab_size']}); nothing was changed. Replace it with --overwrite, "
                        "or choose another --out")
    text = load_corpus(args.input, args.encoding)
    tokenizer = build_tokenizer(TrainConfig(tokenizer=args.tokenizer, bpe_vocab_size=args.vocab_size), text)
    meta = prepare_dataset(text, tokenizer, args.out)
    counts = meta["tokens"]
    print(f"wrote {args.out}: {sum(counts.values()):,} tokens ({', '.join(f'{n:,} {split}' for split, n in counts.items())}), "
          f"vocabulary {meta['vocab_size']}, {meta['dtype']}")
    return 0
