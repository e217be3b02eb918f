"""The minilm command with Hugging Face folders: sample --pretrained, train --init-from FOLDER, export,
the shakespeare-modern preset, and bits per byte in eval."""
import json
import math
import os
import shutil

import numpy as np
import pytest
from conftest import TINY

import minilm
from helpers import FIXTURES
from minilm.cli import main
from minilm.train.trained import load_trained
from minilm.autograd import no_grad
from minilm.models import GPT
from minilm.tokenizers import BPETokenizer
from minilm.train.config import config_from

HF = os.path.join(FIXTURES, "hf")
FINE_TUNE = ["--batch_size", "4", "--eval_iters", "2", "--progress", "false", "--sample_tokens", "10",
             "--warmup_iters", "2", "--lr_decay_iters", "40", "--max_iters", "4", "--eval_interval", "2"]


def test_sample_from_a_pretrained_folder(capsys):
    args = ["sample", "--pretrained", os.path.join(HF, "llama_tied"), "--prompt", "Hello world",
            "--max-new-tokens", "12", "--seed", "3"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("Hello world") and len(first) > len("Hello world\n")
    assert main(args) == 0 and capsys.readouterr().out == first                # the seed fixes it


def test_sample_from_a_folder_without_tokenizer_is_one_line(capsys):
    assert main(["sample", "--pretrained", os.path.join(HF, "llama_untied")]) == 2
    assert "has no tokenizer.json" in capsys.readouterr().err


def test_sample_with_a_tokenizer_larger_than_the_model_is_one_line(tmp_path, capsys):
    folder = tmp_path / "mixed"
    shutil.copytree(os.path.join(HF, "llama_untied"), folder)                  # 48 embedding rows
    shutil.copy(os.path.join(HF, "tokenizer", "tokenizer.json"), folder)      # 400 ids
    assert main(["sample", "--pretrained", str(folder), "--prompt", "Hello world"]) == 2
    assert "the tokenizer has 400 ids but the model only 48 embedding rows" in capsys.readouterr().err


def test_samples_stay_inside_the_tokenizer_of_a_padded_embedding():
    """A padded vocabulary (Qwen2 has 151,936 rows for 151,665 ids): rows past the tokenizer are never sampled."""
    from minilm.models import GPTConfig
    from minilm.models.lstm_lm import LSTMLM
    from minilm.train.loop import generate_text
    tok = BPETokenizer.from_pretrained(os.path.join(HF, "tokenizer"))              # 400 ids
    gpt = GPT(GPTConfig(vocab_size=4000, block_size=16, n_layer=1, n_head=2, n_embd=8)).eval()
    for model in (gpt, LSTMLM(4000, 8, 8, 1)):
        assert (model.generate(np.zeros((1, 1), np.int64), 30, seed=0) >= 400).any()   # 90 % of rows are padding
        assert (model.generate(np.zeros((1, 1), np.int64), 30, seed=0, vocab_size=400) < 400).all()
        generate_text(model, tok, "Hello", 30, 1.0, 0, None, 0, "cpu")              # decodes without an error


def test_fine_tune_a_pretrained_folder_then_export_it(corpus, tmp_path, capsys):
    out, exported = str(tmp_path / "run"), str(tmp_path / "hf")
    assert main(["train", "--init-from", os.path.join(HF, "gpt2"), "--data", corpus, "--out_dir", out,
                 *FINE_TUNE]) == 0
    printed = capsys.readouterr().out
    assert "initialised from" in printed and "final: train loss" in printed
    model, tokenizer, cfg, _ = load_trained(out)
    assert (cfg.mlp, cfg.block_size, cfg.vocab_size) == ("gelu_tanh", 16, 400)
    assert tokenizer.encode("Hello world") == BPETokenizer.from_pretrained(os.path.join(HF, "gpt2")).encode("Hello world")
    assert main(["export", "--out", out, "--to", exported]) == 0
    assert main(["export", "--out", out, "--to", exported]) == 2                # never overwritten silently
    assert "already holds a model" in capsys.readouterr().err
    again = GPT.from_pretrained(exported)
    ids = np.arange(12).reshape(1, 12)
    with no_grad():
        np.testing.assert_allclose(again(minilm.tensor(ids))[0].numpy(), model.eval()(minilm.tensor(ids))[0].numpy(),
                                   rtol=1e-5, atol=1e-6)
    assert BPETokenizer.from_pretrained(exported).encode("Hello world") == tokenizer.encode("Hello world")


def test_eval_reports_bits_per_byte(corpus, tmp_path, capsys):
    out = str(tmp_path)
    assert main(["train", *TINY, "--data", corpus, "--out_dir", out, "--max_iters", "2", "--eval_interval", "2"]) == 0
    capsys.readouterr()
    assert main(["eval", "--out", out, "--split", "val", "--max-batches", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # Shakespeare is ASCII: one byte per character token, so bits per byte = loss / ln 2
    assert result["bits_per_byte"] == pytest.approx(result["loss"] / math.log(2), rel=1e-3)


def test_eval_divides_by_the_bytes_of_bpe_tokens(corpus, tmp_path, capsys):
    """BPE tokens cover several bytes: bits per byte is the summed loss over the bytes the targets cover."""
    from minilm.train.setup import load_split, prepare_data
    out = str(tmp_path / "run")
    assert main(["train", "--init-from", os.path.join(HF, "gpt2"), "--data", corpus, "--out_dir", out,
                 *FINE_TUNE]) == 0
    capsys.readouterr()
    assert main(["eval", "--out", out, "--split", "val", "--max-batches", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    _, tokenizer, cfg, _ = load_trained(out)
    targets = np.asarray(load_split(prepare_data(cfg, tokenizer)[1], "val", cfg.block_size).data)[1:result["tokens"] + 1]
    n_bytes = sum(tokenizer.token_byte_lengths()[i] for i in targets)
    assert n_bytes > 1.2 * result["tokens"]
    assert result["bits_per_byte"] == pytest.approx(result["loss"] * result["tokens"] / math.log(2) / n_bytes, rel=1e-3)


def test_bits_per_byte_counts_the_bytes_of_each_token():
    from minilm.metrics import bits_per_byte
    tok = BPETokenizer.from_pretrained(os.path.join(HF, "tokenizer"))
    ids = tok.encode("naïve café 日本語 <|pad|>", allowed_special="all")
    lengths = tok.token_byte_lengths()
    assert sum(lengths[i] for i in ids) == len("naïve café 日本語 <|pad|>".encode("utf-8"))
    assert bits_per_byte(8 * math.log(2), 4) == 2.0


def test_the_modern_preset_builds_the_llama_blocks(tmp_path):
    from minilm.train.setup import build_model
    cfg = config_from("shakespeare-modern", overrides={"out_dir": str(tmp_path)})
    config = build_model(cfg, 65).config
    assert (config.pos, config.norm, config.mlp, config.n_kv_head, config.bias) == ("rope", "rmsnorm", "swiglu", 2, False)
    with pytest.raises(ValueError, match="n_kv_head \\(3\\) must divide n_head \\(4\\)"):
        config_from("shakespeare-modern", overrides={"n_kv_head": 3})


def test_train_the_modern_preset_and_sample(corpus, tmp_path, capsys):
    out = str(tmp_path)
    assert main(["train", "--preset", "shakespeare-modern", *TINY, "--data", corpus, "--out_dir", out,
                 "--max_iters", "4", "--eval_interval", "2"]) == 0
    capsys.readouterr()
    model, _, cfg, _ = load_trained(out)
    assert (cfg.pos, model.config.n_kv_head, model.config.pos) == ("rope", 2, "rope")
    assert main(["sample", "--out", out, "--prompt", "ROMEO:", "--max-new-tokens", "20", "--seed", "1"]) == 0
    assert capsys.readouterr().out.startswith("ROMEO:")
