"""Checkpoints: exact resume, the best one kept, crash safety, clear errors."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import TINY

from minilm import load
from minilm.cli import main
from minilm.train.checkpoint import checkpoint_folder, load_model_weights, read_pointer
from minilm.train.config import config_from
from minilm.train.loop import Trainer
from minilm.train.setup import build_model


def test_resume_is_bit_identical(tiny, log_records, tmp_path):
    """20 steps straight == 10 steps, stop, resume, 10 more (losses equal to the last bit)."""
    Trainer(tiny(tmp_path / "straight", max_iters=20, eval_interval=5)).run()
    Trainer(tiny(tmp_path / "split", max_iters=10, eval_interval=5)).run()
    with open(tmp_path / "split" / "log.jsonl", "a") as f:    # steps logged after the last checkpoint
        f.write(json.dumps({"step": 11, "loss": 123.0}) + "\n")
    Trainer(tiny(tmp_path / "split", max_iters=20, eval_interval=5, resume=True)).run()
    straight = log_records(tmp_path / "straight", "loss")
    assert len(straight) == 20 and log_records(tmp_path / "split", "loss") == straight
    assert log_records(tmp_path / "split", "val_loss") == log_records(tmp_path / "straight", "val_loss")


def test_lstm_resume_is_bit_identical(corpus, log_records, tmp_path):
    """The LSTM's carried hidden state and its place in the streams are part of the checkpoint."""
    def lstm(out, **fields):
        return config_from("shakespeare-lstm", overrides=dict(
            data=corpus, out_dir=str(out), eval_interval=3, eval_iters=1, batch_size=4, block_size=16, warmup_iters=2,
            lstm_embedding=8, lstm_hidden=16, lstm_layers=1, progress=False, **fields))
    Trainer(lstm(tmp_path / "straight", max_iters=8)).run()
    Trainer(lstm(tmp_path / "split", max_iters=3)).run()
    assert os.path.exists(os.path.join(checkpoint_folder(tmp_path / "split"), "carry.safetensors"))
    Trainer(lstm(tmp_path / "split", max_iters=8, resume=True)).run()
    assert log_records(tmp_path / "split", "loss") == log_records(tmp_path / "straight", "loss")


def test_checkpoint_contents_and_the_best_is_kept(tiny, tmp_path):
    Trainer(tiny(tmp_path, max_iters=10, eval_interval=5)).run()
    pointer = read_pointer(tmp_path)
    assert set(pointer) == {"latest", "best"} and pointer["latest"] == "checkpoints/step-000010"
    assert set(os.listdir(tmp_path / "checkpoints")) == {os.path.basename(p) for p in pointer.values()}
    folder = checkpoint_folder(tmp_path, "latest")
    assert sorted(os.listdir(folder)) == ["model.safetensors", "optimizer.safetensors", "state.json"]
    state = json.load(open(os.path.join(folder, "state.json")))
    assert state["step"] == 10 and state["config"]["n_embd"] == 16 and state["tokenizer"]["type"] == "char"
    assert set(state["rng"]) == {"minilm", "batches"}
    assert "transformer.wte.weight" in load(os.path.join(folder, "model.safetensors"))
    assert state["best_val"] == min(r["val_loss"] for r in map(json.loads, open(tmp_path / "log.jsonl"))
                                    if "val_loss" in r)


def test_a_model_of_another_shape_names_the_keys(tiny, tmp_path):
    Trainer(tiny(tmp_path, max_iters=2, eval_interval=5)).run()
    wider = build_model(tiny(tmp_path / "other", n_embd=32), vocab_size=60)
    with pytest.raises(ValueError, match=r"does not fit.*transformer\.wte\.weight: checkpoint \(\d+, 16\) "
                                         r"vs model \(60, 32\)"):
        load_model_weights(checkpoint_folder(tmp_path), wider)
    deeper = build_model(tiny(tmp_path / "other", n_layer=2), vocab_size=60)
    with pytest.raises(ValueError, match=r"missing keys: transformer\.h\.1\.ln_1\.weight"):
        load_model_weights(checkpoint_folder(tmp_path), deeper)


def test_a_corrupt_checkpoint_says_what_is_wrong(tiny, tmp_path):
    Trainer(tiny(tmp_path, max_iters=2, eval_interval=5)).run()
    folder = checkpoint_folder(tmp_path)
    with open(os.path.join(folder, "model.safetensors"), "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match="model.safetensors is not a readable safetensors file.*truncated"):
        Trainer(tiny(tmp_path, max_iters=4, resume=True))
    with open(os.path.join(folder, "state.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(ValueError, match="state.json is missing or corrupt"):
        Trainer(tiny(tmp_path, max_iters=4, resume=True))
    with open(tmp_path / "checkpoint.json", "w") as f:
        f.write("{")
    with pytest.raises(ValueError, match="checkpoint.json is corrupt"):
        Trainer(tiny(tmp_path, max_iters=4, resume=True))
    with pytest.raises(FileNotFoundError, match="no checkpoint in .*train first"):
        Trainer(tiny(tmp_path / "empty", resume=True))


def test_killed_while_saving_leaves_the_previous_checkpoint_loadable(corpus, tiny, log_records, tmp_path):
    """SIGKILL while the step-15 checkpoint is half written: checkpoint.json still names step 10."""
    # (the classic preset: the run is compared with `tiny`'s TrainConfig, whose defaults are the classic recipe)
    train = [sys.executable, "-m", "minilm", "train", "--preset", "shakespeare-char", *TINY, "--data", corpus,
             "--out_dir", str(tmp_path), "--eval_interval", "5"]
    done = subprocess.run([*train, "--max_iters", "10"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "final: train loss" in done.stdout          # the command ends with a sample, after the numbers
    before = read_pointer(tmp_path)
    assert before["latest"] == "checkpoints/step-000010"
    # the hook sleeps after the checkpoint's files are written, before checkpoint.json points at them
    proc = subprocess.Popen([*train, "--max_iters", "20", "--resume"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, MINILM_TEST_SAVE_DELAY="60"))
    half_written = tmp_path / "checkpoints" / "step-000015" / "state.json"
    deadline = time.time() + 50
    while not half_written.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    was_saving = half_written.exists() and proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert was_saving, "the resumed run never reached the step-15 save"
    assert read_pointer(tmp_path) == before
    assert main(["sample", "--out", str(tmp_path), "--max-new-tokens", "5", "--seed", "0"]) == 0
    # `--resume` alone continues with the run's own settings, exactly where the checkpoint left off
    assert main(["train", "--out_dir", str(tmp_path), "--resume", "--max_iters", "20"]) == 0
    straight = Trainer(tiny(tmp_path / "straight", max_iters=20, eval_interval=5))
    straight.run()
    assert log_records(tmp_path, "loss") == log_records(tmp_path / "straight", "loss")
