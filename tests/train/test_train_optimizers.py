"""`minilm train --optimizer sgd|rmsprop|adam|adamw` and `--cell rnn|gru|lstm`: built, recorded, resumed exactly."""
import json
import os

import numpy as np
import pytest

from minilm import load, nn, optim
from minilm.cli import main
from minilm.train.checkpoint import checkpoint_folder, load_optimizer_state
from minilm.train.config import config_from
from minilm.train.loop import Trainer
from minilm.train.setup import build_model, make_optimizer


def recurrent(corpus, out, **fields):
    """A tiny recurrent LM run on the small corpus."""
    return config_from("shakespeare-lstm", overrides=dict(
        data=corpus, out_dir=str(out), eval_interval=3, eval_iters=1, batch_size=4, block_size=16, warmup_iters=2,
        lstm_embedding=8, lstm_hidden=16, lstm_layers=1, progress=False, sample_tokens=10, **fields))


@pytest.mark.parametrize("name,fields,cls,options", [
    ("sgd", dict(momentum=0.9), optim.SGD, dict(momentum=0.9)),
    ("rmsprop", dict(momentum=0.5, alpha=0.9), optim.RMSprop, dict(momentum=0.5, alpha=0.9)),
    ("adam", dict(beta1=0.8, beta2=0.95), optim.Adam, dict(betas=(0.8, 0.95))),
    ("adamw", {}, optim.AdamW, dict(betas=(0.9, 0.99))),
])
def test_make_optimizer_builds_the_named_one(tiny, tmp_path, name, fields, cls, options):
    cfg = tiny(tmp_path, optimizer=name, learning_rate=0.01, weight_decay=0.05, **fields)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = make_optimizer(cfg, model)
    assert type(opt) is cls
    decay, no_decay = opt.param_groups
    assert [p.ndim for p in decay["params"]] == [2, 2] and [p.ndim for p in no_decay["params"]] == [1, 1]
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0 and decay["lr"] == 0.01
    for key, value in options.items():
        assert decay[key] == value


def test_adamw_stays_the_default(tiny, tmp_path):
    assert tiny(tmp_path).optimizer == "adamw" and tiny(tmp_path).cell == "lstm"


@pytest.mark.parametrize("cell,optimizer,fields,state_key", [
    ("rnn", "rmsprop", dict(momentum=0.5, learning_rate=3e-3, min_lr=3e-4), "square_avg"),
    ("gru", "sgd", dict(momentum=0.9, learning_rate=0.05, min_lr=0.005), "momentum_buffer"),
    ("lstm", "adam", {}, "exp_avg"),
])
def test_recurrent_cells_with_each_optimizer_resume_bit_identically(corpus, log_records, tmp_path, cell, optimizer,
                                                                     fields, state_key):
    """The checkpoint records cell and optimizer, and holds that optimizer's state: resuming continues exactly."""
    Trainer(recurrent(corpus, tmp_path / "straight", max_iters=6, cell=cell, optimizer=optimizer, **fields)).run()
    Trainer(recurrent(corpus, tmp_path / "split", max_iters=3, cell=cell, optimizer=optimizer, **fields)).run()
    folder = checkpoint_folder(tmp_path / "split")
    state = json.load(open(os.path.join(folder, "state.json")))
    assert (state["config"]["cell"], state["config"]["optimizer"]) == (cell, optimizer)
    arrays = load(os.path.join(folder, "optimizer.safetensors"))
    assert any(key.endswith(state_key) for key in arrays)
    assert any(key.startswith(f"{cell}.weight_hh_l0") for key in load(os.path.join(folder, "model.safetensors")))
    Trainer(recurrent(corpus, tmp_path / "split", max_iters=6, cell=cell, optimizer=optimizer, resume=True,
                      **fields)).run()
    straight = log_records(tmp_path / "straight", "loss")
    assert len(straight) == 6 and np.isfinite(straight).all()
    assert log_records(tmp_path / "split", "loss") == straight


def test_an_rnn_with_rmsprop_is_one_command(corpus, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "--preset", "shakespeare-lstm", "--cell", "rnn", "--optimizer", "rmsprop", "--data", corpus,
                 "--out_dir", out, "--max_iters", "3", "--eval_interval", "3", "--eval_iters", "1", "--batch_size",
                 "2", "--block_size", "8", "--lstm_hidden", "16", "--lstm_embedding", "8", "--warmup_iters", "1",
                 "--progress", "false", "--sample_tokens", "5"]) == 0
    printed = capsys.readouterr().out
    assert "training a RNN of" in printed and "iterations with RMSprop" in printed
    # resuming with another optimizer would drop the saved state: a one-line error
    assert main(["train", "--out_dir", out, "--resume", "--max_iters", "6", "--optimizer", "adam"]) == 2
    err = capsys.readouterr().err
    assert "trained with optimizer rmsprop" in err and "resume without --optimizer adam" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args,message", [
    (["--cell", "gru"], "cell gru needs model lstm"),
    (["--optimizer", "adagrad"], "optimizer must be one of 'adamw', 'adam', 'sgd', 'rmsprop'"),
    (["--momentum", "0.9"], "momentum (0.9) is used by sgd and rmsprop only"),
    (["--optimizer", "rmsprop", "--alpha", "1.5"], "alpha must be in [0, 1)"),
])
def test_bad_choices_are_one_line(args, message, tmp_path, capsys):
    assert main(["train", "--out_dir", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "x")


def test_loading_another_optimizers_state_is_refused(corpus, tmp_path):
    Trainer(recurrent(corpus, tmp_path, max_iters=3, optimizer="sgd", momentum=0.9, learning_rate=0.05,
                      min_lr=0.005)).run()
    folder = checkpoint_folder(tmp_path)
    state = json.load(open(os.path.join(folder, "state.json")))
    assert state["optimizer"]["type"] == "SGD"
    with pytest.raises(ValueError, match="holds the state of SGD, not of AdamW"):
        load_optimizer_state(folder, optim.AdamW(nn.Linear(2, 2).parameters()), state)


def test_muon_trains_prints_its_split_once_and_resumes_bit_identically(tiny, log_records, tmp_path, capsys):
    """--optimizer muon: Muon's momentum buffers and AdamW's moments are in the checkpoint; resuming continues
    exactly, and the hidden matrices keep muon_lr's share of the schedule."""
    fields = dict(optimizer="muon", muon_lr=0.03, eval_interval=3)
    trainer = Trainer(tiny(tmp_path / "straight", max_iters=6, **fields))
    trainer.run()
    assert capsys.readouterr().out.count("muon: 4 hidden matrices") == 1
    muon, *adamw = trainer.optimizer.param_groups
    assert muon["lr"] == pytest.approx(adamw[0]["lr"] * 0.03 / 1e-3)
    Trainer(tiny(tmp_path / "split", max_iters=3, **fields)).run()
    arrays = load(os.path.join(checkpoint_folder(tmp_path / "split"), "optimizer.safetensors"))
    assert any(k.endswith("momentum_buffer") for k in arrays) and any(k.endswith("exp_avg") for k in arrays)
    Trainer(tiny(tmp_path / "split", max_iters=6, resume=True, **fields)).run()
    straight = log_records(tmp_path / "straight", "loss")
    assert len(straight) == 6 and np.isfinite(straight).all()
    assert log_records(tmp_path / "split", "loss") == straight


def test_the_recipe_fields_reach_the_model_and_the_schedule(tiny, log_records, tmp_path):
    """qk_norm, relu2, zero_init_proj, an untied head, the soft-cap, value_residual and the trapezoid, from a config."""
    cfg = tiny(tmp_path / "run", max_iters=10, eval_interval=5, n_layer=2, optimizer="muon", mlp="relu2",
               qk_norm=True, zero_init_proj=True, tie_embeddings=False, logit_softcap=15.0, value_residual=True,
               lr_schedule="trapezoid", warmup_iters=2, lr_decay_iters=10, cooldown_frac=0.5, min_lr=1e-4)
    trainer = Trainer(cfg)
    c = trainer.model.config
    assert (c.mlp, c.qk_norm, c.zero_init_proj, c.tie_embeddings, c.logit_softcap, c.value_residual) == \
        ("relu2", True, True, False, 15.0, True)
    trainer.run()
    lrs = log_records(tmp_path / "run", "lr")
    assert lrs[2:6] == [1e-3] * 4 and lrs[6] == pytest.approx(1e-3 - 0.2 * 0.9e-3) and lrs[9] < lrs[6]
    assert np.isfinite(log_records(tmp_path / "run", "loss")).all()


def test_the_speedrun_preset_builds_its_recipe(corpus, tmp_path):
    """shakespeare-speedrun: the modern blocks with Muon and QK-norm (a Qwen3); the other pieces stay off."""
    cfg = config_from("shakespeare-speedrun", overrides=dict(data=corpus, out_dir=str(tmp_path), n_layer=1,
                                                               n_embd=16, block_size=16))
    model = build_model(cfg, 20)
    c = model.config
    assert (c.pos, c.norm, c.mlp, c.qk_norm, c.n_kv_head, c.bias) == ("rope", "rmsnorm", "swiglu", True, 2, False)
    assert not (c.zero_init_proj or c.value_residual or c.logit_softcap) and cfg.lr_schedule == "cosine"
    assert type(make_optimizer(cfg, model)) is optim.Muon
    model.save_pretrained(str(tmp_path / "hf"))
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["architectures"] == ["Qwen3ForCausalLM"]
