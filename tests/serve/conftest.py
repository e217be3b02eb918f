"""A tiny chat model and `minilm serve` running it on 127.0.0.1, as a user starts it."""
import json

import pytest
from serve_helpers import serving

from minilm.cli import main
from minilm.data import load_corpus
from minilm.train.config import config_from
from minilm.train.loop import Trainer

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="session")
def chat_run(tmp_path_factory):
    """A run folder with minilm's chat tokens: a few steps of pre-training, then of SFT (weights need only exist)."""
    root = tmp_path_factory.mktemp("serve")
    corpus = root / "corpus.txt"
    corpus.write_text(load_corpus("shakespeare")[:20_000])
    Trainer(config_from(overrides=dict(data=str(corpus), out_dir=str(root / "base"), n_layer=1, n_head=2, n_embd=32,
                                       block_size=256, batch_size=2, max_iters=1, warmup_iters=0, eval_iters=1,
                                       progress=False))).run()
    chats = root / "chats.jsonl"
    chats.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"{a} plus {b}?"},
                                                      {"role": "assistant", "content": str(a + b)}]}) + "\n"
                             for a in range(10) for b in range(10)))
    assert main(["sft", "--init-from", str(root / "base"), "--data", str(chats), "--out_dir", str(root / "chat"),
                 "--max_iters", "1", "--batch_size", "2", "--eval_iters", "1", "--eval-items", "0",
                 "--progress", "false"]) == 0
    return str(root / "chat")


@pytest.fixture(scope="module")
def server(chat_run):
    with serving("--out", chat_run, "--api-key", "secret") as (url, process):
        yield url, process
