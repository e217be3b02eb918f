"""A short run needs no extra flag: the schedule's defaults are scaled to it, given values never are."""
import json
import os

import pytest
from conftest import TINY
from helpers import run_minilm as minilm

from minilm.train.config import TrainConfig, config_from

# TINY without its schedule: what a user types who only wants a few steps
SHAPE = [arg for pair in zip(TINY[::2], TINY[1::2]) if pair[0] not in ("--warmup_iters", "--lr_decay_iters")
         for arg in pair]


def test_a_run_shorter_than_the_warmup_scales_the_schedule():
    cfg = config_from(overrides={"max_iters": 12})
    assert (cfg.warmup_iters, cfg.lr_decay_iters) == (1, 12)      # 100 / 2000 of the run, then decay to its end
    assert cfg.shortened == {"lr_decay_iters": (2000, 12), "warmup_iters": (100, 1)}
    lstm = config_from("shakespeare-lstm", overrides={"cell": "rnn", "optimizer": "rmsprop", "max_iters": 12})
    assert (lstm.warmup_iters, lstm.lr_decay_iters) == (1, 12)
    longer = config_from(overrides={"max_iters": 1000})
    assert (longer.warmup_iters, longer.lr_decay_iters) == (50, 1000)
    assert config_from().shortened == {}
    stretched = config_from(overrides={"max_iters": 5000})                # a longer run decays over its length
    assert (stretched.warmup_iters, stretched.lr_decay_iters) == (100, 5000)
    assert config_from(overrides={"max_iters": 5000, "lr_decay_iters": 2000}).lr_decay_iters == 2000   # given: kept
    assert TrainConfig(max_iters=12).warmup_iters == 1                # from Python too
    assert TrainConfig(max_iters=3, log_interval=7).log_interval == 7     # given (not the default): kept
    assert TrainConfig(max_iters=3).log_interval == 3


def test_values_the_user_gave_are_kept_or_refused_never_changed():
    with pytest.raises(ValueError, match=r"warmup_iters \(100\) must be <= max_iters \(12\)"):
        config_from(overrides={"max_iters": 12, "warmup_iters": 100})
    kept = config_from(overrides={"max_iters": 12, "lr_decay_iters": 500})
    assert kept.lr_decay_iters == 500 and kept.warmup_iters == 2      # 100 * 12 / 500, rounded
    assert config_from(overrides={"max_iters": 12, "warmup_iters": 5}).warmup_iters == 5


def test_from_a_json_file_too(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"max_iters": 12, "warmup_iters": 100}))
    with pytest.raises(ValueError, match="warmup_iters"):
        config_from(json_path=str(path))
    path.write_text(json.dumps({"max_iters": 12}))
    assert config_from(json_path=str(path)).warmup_iters == 1


@pytest.mark.parametrize("preset, schedule", [
    ([], "lr_decay_iters 800 -> 12, warmup_iters 30 -> 0"),                       # the default run's 800 steps
    (["--preset", "shakespeare-lstm", "--cell", "rnn", "--optimizer", "rmsprop", "--lstm_hidden", "16",
      "--lstm_embedding", "8", "--lstm_layers", "1"], "lr_decay_iters 2000 -> 12, warmup_iters 100 -> 1")])
def test_minilm_train_with_only_max_iters_trains_says_so_and_evaluates_at_the_end(corpus, tmp_path, preset, schedule):
    out = tmp_path / "run"
    run = minilm("train", *SHAPE, *preset, "--data", corpus, "--max_iters", "12", "--out_dir", str(out))
    assert run.returncode == 0, run.stderr
    said = [line for line in run.stdout.splitlines() if line.startswith("a run of 12 steps")]
    assert said == [f"a run of 12 steps: {schedule} (shortened to fit the run; set them to choose)"]
    with open(os.path.join(out, "log.jsonl")) as f:
        evaluations = [r["step"] for r in map(json.loads, f) if "val_loss" in r]
    assert evaluations == [0, 12]                                    # eval_interval (50, 250) > 12: at the end
    refused = minilm("train", *SHAPE, "--data", corpus, "--max_iters", "12", "--warmup_iters", "100",
                     "--out_dir", str(tmp_path / "other"))
    assert refused.returncode == 2 and "warmup_iters (100) must be <= max_iters (12)" in refused.stderr
    assert not (tmp_path / "other").exists()
