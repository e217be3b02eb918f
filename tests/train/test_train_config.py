"""TrainConfig: the presets, JSON files, command-line overrides and their errors."""
import json
from dataclasses import fields

import pytest

from minilm.train.config import PRESETS, RULES, TrainConfig, config_from, parse_overrides


def test_default_is_nanogpts_cpu_configuration():
    d = TrainConfig()
    assert d == config_from("shakespeare-char")
    assert (d.model, d.tokenizer, d.data) == ("gpt", "char", "shakespeare")
    assert (d.block_size, d.batch_size, d.n_layer, d.n_head, d.n_embd, d.dropout) == (64, 12, 4, 4, 128, 0.0)
    assert (d.learning_rate, d.min_lr, d.warmup_iters, d.lr_decay_iters, d.max_iters) == (1e-3, 1e-4, 100, 2000, 2000)
    assert (d.beta1, d.beta2, d.weight_decay, d.grad_clip) == (0.9, 0.99, 0.1, 1.0)
    assert (d.eval_interval, d.eval_iters, d.out_dir) == (250, 20, "out")


def test_presets():
    assert set(PRESETS) >= {"shakespeare-char", "shakespeare-lstm", "shakespeare-bpe"}
    assert config_from("shakespeare-lstm").model == "lstm"
    bpe = config_from("shakespeare-bpe")
    assert (bpe.tokenizer, bpe.model) == ("bpe", "gpt")
    with pytest.raises(ValueError, match="unknown preset 'shakespeare-lsmt'.*did you mean 'shakespeare-lstm'"):
        config_from("shakespeare-lsmt")


def test_command_line_overrides():
    assert parse_overrides(["--n_layer", "6"]) == {"n_layer": 6}
    assert parse_overrides(["--n-layer", "6", "--dropout=0.1", "--no-bias", "--resume"]) == \
        {"n_layer": 6, "dropout": 0.1, "bias": False, "resume": True}
    assert parse_overrides(["--progress", "false", "--device", "cuda"]) == {"progress": False, "device": "cuda"}
    cfg = config_from("shakespeare-lstm", overrides={"max_iters": 700})
    assert cfg.model == "lstm" and cfg.max_iters == 700


def test_json_file_then_overrides(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"n_embd": 64, "max_iters": 5, "warmup_iters": 5}))
    cfg = config_from("shakespeare-char", json_path=path, overrides={"max_iters": 9})
    assert (cfg.n_embd, cfg.max_iters, cfg.n_layer) == (64, 9, 4)
    path.write_text(json.dumps({"n_emdb": 64}))
    with pytest.raises(ValueError, match="unknown configuration key 'n_emdb'; did you mean 'n_embd'"):
        config_from(json_path=path)


def test_errors_name_the_key_and_the_nearest_valid_one():
    with pytest.raises(ValueError, match="unknown configuration key 'n_layers'; did you mean 'n_layer'"):
        parse_overrides(["--n_layers", "3"])
    with pytest.raises(ValueError, match="'lerning-rate'|'lerning_rate'.*'learning_rate'"):
        parse_overrides(["--lerning-rate", "3"])
    with pytest.raises(ValueError, match="n_layer expects an integer, got 'three'"):
        parse_overrides(["--n_layer", "three"])
    with pytest.raises(ValueError, match="bias expects true or false"):
        parse_overrides(["--bias", "maybe"])
    with pytest.raises(ValueError, match="--max_iters needs a value"):
        parse_overrides(["--max_iters"])
    with pytest.raises(ValueError, match="unknown configuration key 'colour'"):
        TrainConfig.from_dict({"colour": 1})


def test_every_numeric_field_has_an_allowed_range():
    numeric = [f.name for f in fields(TrainConfig) if f.type in (int, float, "int", "float")]
    assert [name for name in numeric if name not in RULES] == []


@pytest.mark.parametrize("key, value, allowed", [
    ("learning_rate", -1.0, "> 0"), ("learning_rate", 0.0, "> 0"), ("min_lr", -1e-4, ">= 0"),
    ("dropout", 1.0, r"in \[0, 1\)"), ("dropout", -0.1, r"in \[0, 1\)"), ("n_layer", 0, ">= 1"),
    ("batch_size", 0, ">= 1"), ("eval_interval", 0, ">= 1"), ("grad_clip", -1.0, ">= 0"),
    ("beta1", 1.0, r"in \[0, 1\)"), ("beta2", float("nan"), r"in \[0, 1\)"), ("weight_decay", -0.1, ">= 0"),
    ("top_p", 1.5, r"in \[0, 1\]"), ("temperature", -1.0, ">= 0"), ("bpe_vocab_size", 100, ">= 256"),
    ("model", "bert", "one of 'gpt', 'lstm'"), ("tokenizer", "word", "one of 'char', 'bpe'"),
])
def test_a_value_out_of_range_names_the_key_the_value_and_the_range(key, value, allowed):
    with pytest.raises(ValueError, match=rf"^{key} must be {allowed}, got {value!r}$"):
        config_from(overrides={key: value})
    with pytest.raises(ValueError, match=rf"^{key} must be {allowed}"):
        TrainConfig.from_dict({**TrainConfig().to_dict(), key: value})


def test_relations_between_fields_and_types_are_checked():
    with pytest.raises(ValueError, match=r"warmup_iters \(100\) must be <= max_iters \(50\).*--warmup_iters"):
        config_from(overrides={"max_iters": 50, "warmup_iters": 100})
    assert config_from(overrides={"max_iters": 50, "warmup_iters": 5}).max_iters == 50
    with pytest.raises(ValueError, match=r"min_lr \(0.01\) must be <= learning_rate \(0.001\)"):
        TrainConfig(min_lr=0.01)
    with pytest.raises(ValueError, match="n_layer expects an integer, got '3'"):
        TrainConfig(n_layer="3")
    with pytest.raises(ValueError, match="dropout expects a number, got True"):
        TrainConfig(dropout=True)


def test_the_architecture_fields_are_gptconfigs_and_every_gpt_field_is_a_train_field():
    import dataclasses

    from minilm.models import GPTConfig
    from minilm.train.config import ARCHITECTURE, FIELDS
    gpt_fields = {f.name for f in dataclasses.fields(GPTConfig)}
    assert gpt_fields <= set(FIELDS) and gpt_fields - {"dropout"} <= set(ARCHITECTURE)
