"""log.jsonl is strict JSON (what jq and JavaScript read): a non-finite value is null; old logs still read."""
import json
import math

import pytest

from minilm.train.loop import Trainer
from minilm.train.run_log import as_json, read_log


def strict(line):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(line, parse_constant=refuse)


def test_a_non_finite_value_is_written_as_null():
    line = as_json({"step": 3, "val_ppl": math.inf, "grad_norm": -math.inf, "loss": math.nan, "lr": 1e-3})
    assert strict(line) == {"step": 3, "val_ppl": None, "grad_norm": None, "loss": None, "lr": 1e-3}


def test_old_and_new_logs_read_alike(tmp_path):
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text('{"step": 1, "loss": 2.5, "grad_norm": Infinity}\n{"step": 2, "val_loss": NaN}\n')
    new.write_text('{"step": 1, "loss": 2.5, "grad_norm": null}\n{"step": 2, "val_loss": null}\n')
    for path in (old, new):
        records = read_log(path)
        assert records[0]["loss"] == 2.5 and not math.isfinite(records[0]["grad_norm"]) and math.isnan(records[1]["val_loss"])
    (tmp_path / "bad.jsonl").write_text('{"step": 1\n')
    with pytest.raises(ValueError, match="line 1, is not a JSON record"):
        read_log(tmp_path / "bad.jsonl")


def test_a_run_whose_perplexity_overflows_logs_strict_json(tiny, tmp_path, monkeypatch):
    trainer = Trainer(tiny(tmp_path / "run", max_iters=2, eval_interval=1))
    real = trainer.estimate_loss
    monkeypatch.setattr(trainer, "estimate_loss", lambda: {**real(), "train_ppl": math.inf})   # exp(loss > 709)
    trainer.run()
    records = [strict(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["train_ppl"] for r in records if "val_loss" in r] == [None, None, None]


def test_plot_draws_a_log_with_nulls(tmp_path):
    pytest.importorskip("matplotlib")
    from minilm.viz import plot_training
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(as_json({"step": s, "loss": 3.0 - 0.1 * s, "lr": 1e-3, "tokens_per_s": 1e4,
                                      "grad_norm": math.inf if s == 2 else 1.0}) for s in range(1, 6)) + "\n")
    plot_training(log, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
