"""The minilm command: train, sample, eval, prepare, plot, fine-tuning; in-process and as a subprocess."""
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import TINY

from minilm.cli import main
from minilm.data import load_corpus
from minilm.train.checkpoint import saved_config
from minilm.train.config import TrainConfig
from minilm.train.loop import Trainer
from minilm.train.setup import speeches_of


def test_train_prints_losses_and_a_sample(corpus, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--data", corpus, "--out_dir", out, "--max_iters", "6", "--eval_interval", "3"]) == 0
    printed = capsys.readouterr().out
    assert "step 3: train loss" in printed and "(ppl" in printed and "final: train loss" in printed
    sample = printed.split("-" * 60 + "\n", 1)[1]
    assert len(sample.strip()) > 5
    assert os.path.exists(os.path.join(out, "checkpoint.json")) and os.path.exists(os.path.join(out, "log.jsonl"))


def test_train_as_a_subprocess(corpus, tmp_path):
    run = subprocess.run([sys.executable, "-m", "minilm", "train", *TINY, "--data", corpus, "--out_dir",
                          str(tmp_path), "--max_iters", "3", "--eval_interval", "3"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "final: train loss" in run.stdout and "val loss" in run.stdout


def test_sample_eval_and_plot(corpus, tmp_path, capsys):
    out = str(tmp_path)
    assert main(["train", *TINY, "--data", corpus, "--out_dir", out, "--max_iters", "4", "--eval_interval", "2"]) == 0
    capsys.readouterr()
    sample_args = ["sample", "--out", out, "--prompt", "ROMEO:", "--max-new-tokens", "30", "--temperature", "0.8",
                   "--top-k", "20", "--top-p", "0.95", "--seed", "1", "--device", "cpu"]
    assert main(sample_args) == 0
    first = capsys.readouterr().out
    assert first.startswith("ROMEO:") and len(first.rstrip("\n")) == len("ROMEO:") + 30
    assert main(sample_args) == 0 and capsys.readouterr().out == first          # the seed fixes the sample
    data_file = os.path.join(out, "data", "test.bin")
    written = os.stat(data_file).st_mtime_ns
    assert main(["eval", "--out", out, "--split", "test", "--max-batches", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["split"] == "test" and result["tokens"] == 2 * 32 * 16
    assert result["perplexity"] == pytest.approx(2.718281828 ** result["loss"], rel=1e-3)
    assert 0 <= result["accuracy"] <= 1
    assert os.stat(data_file).st_mtime_ns == written                         # the prepared data is reused
    try:
        import matplotlib
    except ImportError:
        assert main(["plot", out]) == 1 and "pip install 'minilm[plot]'" in capsys.readouterr().err
    else:
        assert matplotlib and main(["plot", out]) == 0 and os.path.exists(os.path.join(out, "loss.png"))


def test_prepare_writes_a_dataset_folder(corpus, tmp_path, capsys):
    assert main(["prepare", "--input", corpus, "--out", str(tmp_path / "ds")]) == 0
    meta = json.load(open(tmp_path / "ds" / "meta.json"))
    assert sum(meta["tokens"].values()) == 30_000 and meta["dtype"] == "uint16"
    assert sorted(f for f in os.listdir(tmp_path / "ds") if f.endswith(".bin")) == ["test.bin", "train.bin", "val.bin"]
    assert "wrote" in capsys.readouterr().out
    # ... which training uses as it is
    trainer = Trainer(TrainConfig(data_dir=str(tmp_path / "ds"), out_dir=str(tmp_path / "run"), block_size=16,
                                  n_layer=1, n_embd=16, n_head=2, progress=False))
    assert len(trainer.train_data) == meta["tokens"]["train"]


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["train", "--n_layerz", "2"]) == 2
    assert "unknown configuration key 'n_layerz'; did you mean 'n_layer'" in capsys.readouterr().err
    assert main(["sample", "--out", str(tmp_path)]) == 2
    assert "no checkpoint in" in capsys.readouterr().err
    assert main(["fit"]) == 2 and "unknown command 'fit'" in capsys.readouterr().err


def test_speeches_of_one_speaker():
    text = "ROMEO:\nBut soft!\n\nJULIET:\nAy me!\n\nROMEO:\nShe speaks.\nO, speak again.\n\nNURSE:\nMadam!"
    assert speeches_of(text, "ROMEO") == "ROMEO:\nBut soft!\n\nROMEO:\nShe speaks.\nO, speak again.\n"
    with pytest.raises(ValueError, match="no speech by 'HAMLET'.*speakers with most speeches: ROMEO, JULIET"):
        speeches_of(text, "HAMLET")


def test_fine_tune_on_one_speakers_lines(corpus, tmp_path, capsys):
    pre, fine = str(tmp_path / "pre"), str(tmp_path / "fine")
    assert main(["train", *TINY, "--data", corpus, "--out_dir", pre, "--max_iters", "4", "--eval_interval", "4"]) == 0
    assert main(["train", *TINY, "--data", corpus, "--init-from", pre, "--speaker", "MENENIUS", "--out_dir", fine,
                 "--max_iters", "2", "--eval_interval", "2", "--n_embd", "99"]) == 0
    assert "initialised from" in capsys.readouterr().out
    state = json.load(open(os.path.join(fine, json.load(open(os.path.join(fine, "checkpoint.json")))["latest"],
                                        "state.json")))
    assert state["config"]["n_embd"] == 16                     # the architecture comes from the checkpoint
    # without --preset, shakespeare-speedrun (Muon, QK-norm); fine-tuning keeps that architecture and takes AdamW
    assert (saved_config(pre).optimizer, state["config"]["qk_norm"], state["config"]["optimizer"]) == \
        ("muon", True, "adamw")
    assert state["tokenizer"] == json.load(open(os.path.join(pre, "data", "meta.json")))["tokenizer"]
    menenius = speeches_of(load_corpus(corpus), "MENENIUS")
    assert sum(json.load(open(os.path.join(fine, "data", "meta.json")))["tokens"].values()) == len(menenius)
    assert main(["train", *TINY, "--data", corpus, "--init-from", pre, "--out_dir", pre]) == 2
    assert "would overwrite the model it starts from" in capsys.readouterr().err
    shutil.rmtree(pre)                     # a resumed fine-tuning run needs only its own checkpoint
    assert main(["train", "--out_dir", fine, "--resume", "--max_iters", "4"]) == 0
    assert "resumed from" in capsys.readouterr().out


def test_model_lstm_without_a_preset_starts_from_the_lstm_preset(corpus, tmp_path, capsys):
    """The default recipe (Muon, QK-norm, 3 layers) is a transformer's: --model lstm alone takes shakespeare-lstm."""
    out = str(tmp_path / "lstm")
    assert main(["train", "--model", "lstm", "--lstm_hidden", "16", "--lstm_embedding", "8", "--lstm_layers", "1",
                 "--data", corpus, "--out_dir", out, "--max_iters", "2", "--eval_iters", "1", "--progress",
                 "false"]) == 0
    assert "with AdamW" in capsys.readouterr().out
    cfg = saved_config(out)
    assert (cfg.optimizer, cfg.batch_size, cfg.learning_rate) == ("adamw", 32, 2e-3)      # shakespeare-lstm's
