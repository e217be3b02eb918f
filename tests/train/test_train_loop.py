"""The training loop: schedule, accumulation, evaluation records, divergence, early stopping, presets."""
import json
import os

import numpy as np
import pytest

import minilm.functional as F
from minilm import load
from minilm.train.checkpoint import checkpoint_folder
from minilm.train.config import config_from
from minilm.train.loop import Trainer, TrainingStopped


def test_log_has_every_metric_and_the_lr_schedule(tiny, tmp_path):
    cfg = tiny(tmp_path, max_iters=6, eval_interval=3, warmup_iters=2, lr_decay_iters=5, learning_rate=1e-2,
               min_lr=1e-3)
    Trainer(cfg).run()
    records = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    steps = [r for r in records if "loss" in r]
    evals = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6] and [r["step"] for r in evals] == [0, 3, 6]
    assert set(steps[0]) == {"step", "loss", "lr", "grad_norm", "tokens_per_s"}
    assert set(evals[0]) == {"step", "train_loss", "val_loss", "train_ppl", "val_ppl", "train_acc", "val_acc"}
    # warmup (step + 1) / (warmup + 1) of the peak, cosine to min_lr at lr_decay_iters, then flat
    lrs = [r["lr"] for r in steps]
    assert lrs[:2] == pytest.approx([1e-2 / 3, 2e-2 / 3]) and lrs[2] == pytest.approx(1e-2)
    assert lrs[2] > lrs[3] > lrs[4] > 1e-3 and lrs[5] == pytest.approx(1e-3)
    for r in evals:
        assert r["val_ppl"] == pytest.approx(np.exp(r["val_loss"])) and 0 <= r["val_acc"] <= 1
    assert evals[0]["val_loss"] == pytest.approx(np.log(cfg_vocab(tmp_path)), rel=0.1)   # untrained: uniform


def cfg_vocab(out):
    return json.load(open(os.path.join(out, "data", "meta.json")))["vocab_size"]


def test_gradient_accumulation_averages_the_micro_batches(tiny, tmp_path):
    """Two micro-batches (the same one twice) of loss / 2 give the gradient of one: the same step.

    Equal up to rounding only: the tied embedding adds its two gradient parts to .grad in another order.
    """
    weights, results = [], []
    for steps in (1, 2):
        trainer = Trainer(tiny(tmp_path / str(steps), gradient_accumulation_steps=steps))
        fixed = trainer.next_batch()
        trainer.next_batch = lambda: fixed
        results.append(trainer.train_step())                 # (mean loss, lr, gradient norm before clipping)
        weights.append({k: v.copy() for k, v in trainer.model.state_dict().items()})
    assert results[0][:2] == results[1][:2] and results[0][2] == pytest.approx(results[1][2], rel=1e-6)
    for key in weights[0]:
        np.testing.assert_allclose(weights[0][key], weights[1][key], rtol=1e-5, atol=1e-8, err_msg=key)


def test_a_non_finite_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tiny, tmp_path):
    cfg = tiny(tmp_path, max_iters=40, eval_interval=2, learning_rate=1e30, warmup_iters=0, grad_clip=0.0)
    with pytest.raises(TrainingStopped, match=r"loss became (nan|inf) at step \d+.*last good checkpoint "
                                              r"is kept: .*step-0000\d\d"):
        Trainer(cfg).run()
    folder = checkpoint_folder(tmp_path, "latest")
    weights = load(os.path.join(folder, "model.safetensors"))
    assert all(np.isfinite(w).all() for w in weights.values())


def test_a_non_finite_gradient_stops_naming_the_step(tiny, tmp_path):
    class Poisoned(Trainer):
        def loss_on(self, x, y):
            loss = super().loss_on(x, y)
            if self.step == 3:              # d sqrt(u)/du = 1 / (2 sqrt(u)) is infinite at u = 0
                w = self.model.transformer.ln_f.weight
                loss = loss + 0 * F.sum(F.sqrt(w - w.detach()))
            return loss
    with pytest.raises(TrainingStopped, match="gradient norm became nan at step 3"):
        Poisoned(tiny(tmp_path, max_iters=10, eval_interval=2)).run()
    assert checkpoint_folder(tmp_path).endswith("step-000002")


def test_early_stopping(tiny, tmp_path, capsys):
    cfg = tiny(tmp_path, max_iters=50, eval_interval=2, early_stopping_patience=2)
    trainer = Trainer(cfg)
    trainer.optimizer.step = lambda: None          # weights that never change: the val loss never improves
    trainer.run()
    assert trainer.step == 4 and "early stopping: no better val loss in 2 evaluations" in capsys.readouterr().out


def test_lstm_preset_trains_and_samples(corpus, tmp_path):
    cfg = config_from("shakespeare-lstm", overrides=dict(
        data=corpus, out_dir=str(tmp_path), max_iters=4, warmup_iters=2, eval_interval=2, eval_iters=1, batch_size=4,
        block_size=16, lstm_embedding=8, lstm_hidden=16, lstm_layers=1, progress=False))
    trainer = Trainer(cfg)
    trainer.run()
    assert len(trainer.sample(max_new_tokens=10, seed=0)) >= 10


def test_bpe_preset_trains_its_tokenizer_first(tiny, tmp_path):
    trainer = Trainer(tiny(tmp_path, tokenizer="bpe", bpe_vocab_size=300, max_iters=2, eval_interval=5))
    trainer.run()
    assert trainer.tokenizer.vocab_size == 300 and trainer.model.transformer.wte.weight.shape[0] == 300
    # the same folder with another vocabulary size is tokenized anew, not reused
    again = Trainer(tiny(tmp_path, tokenizer="bpe", bpe_vocab_size=280, max_iters=2, eval_interval=5), overwrite=True)
    assert again.tokenizer.vocab_size == 280
