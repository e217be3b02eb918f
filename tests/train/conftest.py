"""Fixtures of the training tests: a small corpus and tiny configurations that train in a blink."""
import json
import os

import pytest

from minilm.data import load_corpus
from minilm.train.config import config_from, parse_overrides

# one layer, 16-dim embeddings, 16-token windows: a step takes milliseconds
TINY = ["--n_layer", "1", "--n_head", "2", "--n_embd", "16", "--block_size", "16", "--batch_size", "4",
        "--eval_iters", "2", "--progress", "false", "--sample_tokens", "20", "--warmup_iters", "2",
        "--lr_decay_iters", "40"]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The first 30,000 characters of tinyshakespeare, as a text file."""
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text(load_corpus("shakespeare")[:30_000])
    return str(path)


@pytest.fixture
def tiny(corpus):
    """tiny(out_dir, **fields) -> a TrainConfig of a tiny GPT on the small corpus."""
    def make(out, **fields):
        overrides = parse_overrides(TINY)
        overrides.update(data=corpus, out_dir=str(out), **fields)
        return config_from(overrides=overrides)
    return make


@pytest.fixture
def log_records():
    """log_records(out_dir, key) -> the values of `key` in out_dir/log.jsonl, in order."""
    def read(out, key):
        with open(os.path.join(out, "log.jsonl")) as f:
            return [r[key] for r in map(json.loads, f) if key in r]
    return read
