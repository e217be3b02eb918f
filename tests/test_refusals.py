"""Every subcommand refuses the same way: one line naming the problem and the way out, exit status 2,
and nothing changed on disk. (A write that failed or a diverged run is 1: tests/train/test_write_failures.py.)"""
import os

import pytest

from minilm.cli import main
from minilm.data import load_corpus
from minilm.train.config import config_from
from minilm.train.loop import Trainer

TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_iters=1, progress=False,
            max_iters=2, sample_tokens=5)


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A trained run, its export, a prepared dataset and an empty folder."""
    root = tmp_path_factory.mktemp("refusals")
    corpus = root / "corpus.txt"
    corpus.write_text(load_corpus("shakespeare")[:5_000])
    Trainer(config_from(overrides=dict(TINY, data=str(corpus), out_dir=str(root / "run")))).run()
    assert main(["export", "--out", str(root / "run"), "--to", str(root / "hf")]) == 0
    assert main(["prepare", "--input", str(corpus), "--out", str(root / "data")]) == 0
    (root / "empty").mkdir()
    return root


REFUSALS = [  # (arguments, words the one line must hold); {root} is the fixture's folder
    (["train", "--data", "{root}/corpus.txt", "--out_dir", "{root}/run", "--max_iters", "2"], "already holds a run"),
    (["train", "--resume", "--overwrite"], "give one of them"),
    (["train", "--n_layr", "2"], "did you mean 'n_layer'"),
    (["train", "--max_iters", "3", "--warmup_iters", "100"], "warmup_iters (100) must be <= max_iters (3)"),
    (["sample", "--out", "{root}/empty"], "no checkpoint"),
    (["eval", "--out", "{root}/empty"], "no checkpoint"),
    (["eval", "--out", "{root}/run", "--split", "dev"], "invalid choice: 'dev'"),
    (["export", "--out", "{root}/run", "--to", "{root}/hf"], "already holds a model"),
    (["export", "--out", "{root}/empty", "--to", "{root}/hf2"], "no checkpoint"),
    (["prepare", "--out", "{root}/data"], "already holds a prepared dataset"),
    (["prepare", "--input", "{root}/missing.txt", "--out", "{root}/data2"], "missing.txt"),
    (["plot", "{root}/empty"], "no training log"),
    (["viz", "attention", "--out", "{root}/empty"], "no checkpoint"),
    (["viz", "pictures", "--out", "{root}/run"], "invalid choice"),
    (["doctor", "--bogus"], "unrecognized arguments: --bogus"),
]


def tree(root):
    return sorted((os.path.relpath(os.path.join(d, f), root), os.path.getsize(os.path.join(d, f)))
                  for d, _, files in os.walk(root) for f in files)


@pytest.mark.parametrize("args, words", REFUSALS, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in enumerate(REFUSALS)])
def test_a_refusal_is_one_line_and_exit_2(place, args, words, capsys, monkeypatch):
    monkeypatch.chdir(place / "empty")
    before = tree(place)
    assert main([arg.format(root=place) for arg in args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"minilm {args[0]}: ") and words in lines[0], captured.err
    assert tree(place) == before


def test_an_unknown_command_is_refused_too(capsys):
    assert main(["trian"]) == 2 and "unknown command 'trian'" in capsys.readouterr().err
