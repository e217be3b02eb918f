"""`minilm prepare`: a text file tokenized into a dataset folder (token files and meta.json)."""
from ..data import load_corpus, prepare as prepare_dataset
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
    args = p.parse_args(argv)
    text = load_corpus(args.input, args.encoding)
    tokenizer = build_tokenizer(TrainConfig(tokenizer=args.tokenizer, bpe_vocab_size=args.vocab_size), text)
    meta = prepare_dataset(text, tokenizer, args.out)
    print(f"wrote {args.out}: {meta['tokens']} tokens, vocabulary {meta['vocab_size']}, {meta['dtype']}")
    return 0
