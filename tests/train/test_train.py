"""Training workflow: configuration, exact resume, crash safety, divergence, the CLI."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from minilm.__main__ import main
from minilm.data import load_corpus
from minilm.train.checkpoint import checkpoint_folder, read_pointer
from minilm.train.config import PRESETS, TrainConfig, config_from, parse_overrides
from minilm.train.loop import Trainer, TrainingStopped

TINY = ["--n_layer", "1", "--n_head", "2", "--n_embd", "16", "--block_size", "16", "--batch_size", "4",
        "--eval_iters", "2", "--progress", "false", "--sample_tokens", "20", "--warmup_iters", "2",
        "--lr_decay_iters", "40"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text(load_corpus("shakespeare")[:30_000])
    return str(path)


def tiny_config(corpus, out, **kw):
    overrides = parse_overrides(TINY)
    overrides.update(data=corpus, out_dir=str(out), **kw)
    return config_from(overrides=overrides)


def losses(out):
    return [r["loss"] for r in map(json.loads, open(os.path.join(out, "log.jsonl"))) if "loss" in r]


def test_presets_and_overrides(tmp_path):
    assert TrainConfig() == config_from("shakespeare-char")
    d = TrainConfig()
    assert (d.block_size, d.batch_size, d.n_layer, d.n_head, d.n_embd, d.dropout) == (64, 12, 4, 4, 128, 0.0)
    assert (d.learning_rate, d.min_lr, d.warmup_iters, d.lr_decay_iters, d.max_iters) == (1e-3, 1e-4, 100, 2000, 2000)
    assert (d.beta2, d.weight_decay, d.grad_clip, d.eval_interval, d.eval_iters) == (0.99, 0.1, 1.0, 250, 20)
    assert config_from("shakespeare-lstm").model == "lstm" and config_from("shakespeare-bpe").tokenizer == "bpe"
    assert set(PRESETS) >= {"shakespeare-char", "shakespeare-lstm", "shakespeare-bpe"}
    cfg = config_from("shakespeare-char", overrides=parse_overrides(["--n-layer", "6", "--dropout=0.1", "--no-bias"]))
    assert cfg.n_layer == 6 and cfg.dropout == 0.1 and cfg.bias is False
    (tmp_path / "c.json").write_text(json.dumps({"n_embd": 64, "max_iters": 5}))
    assert config_from(json_path=tmp_path / "c.json").n_embd == 64
    with pytest.raises(ValueError, match="'n_layers'.*'n_layer'"):
        parse_overrides(["--n_layers", "3"])
    with pytest.raises(ValueError, match="expects a int"):
        parse_overrides(["--n_layer", "three"])


def test_exact_resume_is_bit_identical(corpus, tmp_path):
    straight = tiny_config(corpus, tmp_path / "a", max_iters=20, eval_interval=5)
    Trainer(straight).run()
    first_half = tiny_config(corpus, tmp_path / "b", max_iters=10, eval_interval=5)
    Trainer(first_half).run()
    resumed = tiny_config(corpus, tmp_path / "b", max_iters=20, eval_interval=5, resume=True)
    Trainer(resumed).run()
    a, b = losses(tmp_path / "a"), losses(tmp_path / "b")
    assert len(a) == len(b) == 20 and a == b


def test_best_checkpoint_is_kept_and_weights_load(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path, max_iters=10, eval_interval=5)
    Trainer(cfg).run()
    pointer = read_pointer(tmp_path)
    assert set(pointer) == {"latest", "best"}
    folder = checkpoint_folder(tmp_path, "latest")
    assert sorted(os.listdir(folder)) == ["model.safetensors", "optimizer.safetensors", "state.json"]
    state = json.load(open(os.path.join(folder, "state.json")))
    assert state["step"] == 10 and "rng" in state and state["config"]["n_embd"] == 16


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path, max_iters=30, eval_interval=5, learning_rate=1e6, warmup_iters=0,
                      grad_clip=0.0)
    with pytest.raises(TrainingStopped, match=r"at step \d+.*last good checkpoint is kept"):
        Trainer(cfg).run()
    folder = checkpoint_folder(tmp_path, "latest")
    state = json.load(open(os.path.join(folder, "state.json")))
    from minilm import load
    weights = load(os.path.join(folder, "model.safetensors"))
    assert all(np.isfinite(w).all() for w in weights.values()) and state["step"] % 5 == 0


def test_checkpoint_of_another_shape_names_keys(corpus, tmp_path):
    Trainer(tiny_config(corpus, tmp_path, max_iters=2, eval_interval=5)).run()
    other = tiny_config(corpus, tmp_path / "ft", max_iters=1, n_embd=32, eval_interval=5)
    from minilm.train.checkpoint import load_model_weights
    from minilm.train.setup import build_model
    with pytest.raises(ValueError, match=r"transformer.wte.weight: checkpoint \(\d+, 16\) vs model \(\d+, 32\)"):
        load_model_weights(checkpoint_folder(tmp_path), build_model(other, 60))
    with open(os.path.join(checkpoint_folder(tmp_path), "state.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        Trainer(tiny_config(corpus, tmp_path, max_iters=4, resume=True))


def test_kill_during_save_leaves_the_previous_checkpoint_loadable(corpus, tmp_path):
    args = [sys.executable, "-m", "minilm", "train", *TINY, "--data", corpus, "--out_dir", str(tmp_path),
            "--max_iters", "10", "--eval_interval", "5"]
    env = dict(os.environ, MINILM_TEST_SAVE_DELAY="0")
    subprocess.run(args, check=True, env=env, capture_output=True)
    before = read_pointer(tmp_path)
    args_more = [*args[:-4], "--max_iters", "20", "--eval_interval", "5", "--resume"]
    proc = subprocess.Popen(args_more, env=dict(os.environ, MINILM_TEST_SAVE_DELAY="30"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not os.path.exists(tmp_path / "checkpoints" / "step-000015" / "state.json"):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert read_pointer(tmp_path) == before
    assert main(["sample", "--out", str(tmp_path), "--max-new-tokens", "5", "--seed", "0"]) == 0


def test_cli_train_sample_eval_prepare(corpus, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--data", corpus, "--out_dir", out, "--max_iters", "6", "--eval_interval", "3"]) == 0
    printed = capsys.readouterr().out
    assert "val loss" in printed and "perplexity" in printed
    assert main(["sample", "--out", out, "--prompt", "ROMEO:", "--max-new-tokens", "30", "--temperature", "0.8",
                 "--top-k", "20", "--top-p", "0.95", "--seed", "1"]) == 0
    sample = capsys.readouterr().out
    assert sample.startswith("ROMEO:") and len(sample) > 30
    assert main(["eval", "--out", out, "--split", "test", "--max-batches", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) >= {"loss", "perplexity", "accuracy"} and result["perplexity"] > 1
    assert main(["prepare", "--input", corpus, "--out", str(tmp_path / "ds")]) == 0
    assert json.load(open(tmp_path / "ds" / "meta.json"))["tokens"]["train"] > 0
    assert main(["train", "--n_layerz", "2"]) == 2
    assert "did you mean 'n_layer'" in capsys.readouterr().err
    try:
        import matplotlib  # noqa: F401
        assert main(["plot", out]) == 0 and os.path.exists(os.path.join(out, "loss.png"))
    except ImportError:
        assert main(["plot", out]) == 1 and "pip install 'minilm[plot]'" in capsys.readouterr().err


def test_fine_tune_from_a_checkpoint_on_other_text(corpus, tmp_path):
    Trainer(tiny_config(corpus, tmp_path / "pre", max_iters=4, eval_interval=5)).run()
    romeo = tmp_path / "romeo.txt"
    romeo.write_text("\n".join(line for line in load_corpus(corpus).split("\n\n") if line.startswith("MENENIUS")))
    cfg = tiny_config(str(romeo), tmp_path / "ft", max_iters=3, eval_interval=5, init_from=str(tmp_path / "pre"),
                      n_embd=99)                                       # architecture comes from the checkpoint
    trainer = Trainer(cfg)
    assert trainer.cfg.n_embd == 16
    trainer.run()
    with pytest.raises(ValueError, match="overwrite"):
        Trainer(tiny_config(str(romeo), tmp_path / "pre", init_from=str(tmp_path / "pre")))


def test_lstm_preset_trains(corpus, tmp_path):
    cfg = config_from("shakespeare-lstm", overrides=dict(
        data=corpus, out_dir=str(tmp_path), max_iters=4, eval_interval=2, eval_iters=1, batch_size=4,
        block_size=16, lstm_embedding=8, lstm_hidden=16, lstm_layers=1, progress=False))
    trainer = Trainer(cfg)
    trainer.run()
    assert len(trainer.sample(max_new_tokens=10, seed=0)) >= 10


def test_bpe_preset_trains(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path, tokenizer="bpe", bpe_vocab_size=300, max_iters=2, eval_interval=5)
    trainer = Trainer(cfg)
    trainer.run()
    assert trainer.tokenizer.vocab_size == 300
