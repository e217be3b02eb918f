"""`minilm eval`'s bits per byte counts ordinary text only: a special token's loss and its string are left out."""
import json

import numpy as np
from conftest import TINY
from helpers import run_minilm as minilm

import minilm as engine
from minilm.data import load_corpus, prepare
from minilm.tokenizers import BPETokenizer, CharTokenizer
from minilm.train.trained import load_trained

EOT = "<|endoftext|>"


def test_special_tokens_stand_for_no_bytes():
    char = CharTokenizer.from_text("abc")
    char.add_special_token(EOT)
    assert char.token_byte_lengths() == [1, 1, 1, 0]
    bpe = BPETokenizer().train("héllo world " * 20, 260)
    bpe.add_special_token(EOT)
    lengths = bpe.token_byte_lengths()
    assert lengths[-1] == 0 and lengths[ord("a")] == 1 and sum(lengths[256:-1]) == sum(len(bpe.vocab[i]) for i in
                                                                                        range(256, 260))


def test_eval_leaves_the_special_tokens_out_of_bits_per_byte(tmp_path):
    speeches = load_corpus("shakespeare")[:20_000].split("\n\n")
    tokenizer = BPETokenizer().train("\n\n".join(speeches), 300)
    eot = tokenizer.add_special_token(EOT)
    prepare(EOT.join(speeches), tokenizer, tmp_path / "data", allowed_special={EOT})
    out = tmp_path / "run"
    trained = minilm("train", *TINY, "--data_dir", str(tmp_path / "data"), "--max_iters", "3", "--out_dir", str(out))
    assert trained.returncode == 0, trained.stderr
    result = minilm("eval", "--out", str(out), "--split", "train", "--max-batches", "4", "--batch-size", "8")
    assert result.returncode == 0, result.stderr
    reported = json.loads(result.stdout)

    # the same from the model's logits: summed -log p over the targets that are text, over their bytes
    model, tok, cfg, _ = load_trained(str(out))
    data = np.fromfile(tmp_path / "data" / "train.bin", dtype=np.uint16).astype(np.int64)
    T, nats, n_bytes, specials = cfg.block_size, 0.0, 0, 0
    for start in range(0, 32 * T, T):
        x, y = data[start:start + T], data[start + 1:start + T + 1]
        logits = model(engine.tensor(x[None]))[0].numpy()[0].astype(np.float64)   # (T, V)
        log_p = logits - logits.max(-1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
        text = y != eot
        specials += int((~text).sum())
        nats -= log_p[np.arange(T), y][text].sum()
        n_bytes += sum(len(tok.vocab[i]) for i in y[text])
    assert specials > 0                                              # the windows do hold special tokens
    assert abs(reported["bits_per_byte"] - nats / np.log(2) / n_bytes) < 1e-3
