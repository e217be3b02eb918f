"""`minilm chat` through piped stdin and --prompt, and `minilm eval --task`, on a tiny fine-tuned run."""
import json
import os
import subprocess
import sys

import pytest

from minilm.chat import generate_reply
from minilm.cli import main
from minilm.data import load_corpus
from minilm.train import Trainer
from minilm.train.config import config_from
from minilm.train.trained import load_trained


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(a tiny base run, the same after a few SFT steps on arithmetic)."""
    folder = tmp_path_factory.mktemp("chat")
    corpus = folder / "small.txt"
    corpus.write_text(load_corpus("shakespeare")[:20_000])
    base, sft = str(folder / "base"), str(folder / "sft")
    Trainer(config_from(overrides=dict(data=str(corpus), out_dir=base, n_layer=1, n_head=2, n_embd=16, block_size=48,
                                       batch_size=4, max_iters=2, eval_iters=1, warmup_iters=0, progress=False))).run()
    assert main(["sft", "--init-from", base, "--task", "arithmetic", "--task-size", "200", "--out_dir", sft,
                 "--max_iters", "3", "--batch_size", "4", "--eval_iters", "1", "--eval-items", "0",
                 "--progress", "false"]) == 0
    return base, sft


def minilm(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "minilm", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, "MINILM_THREADS": "1"}, timeout=120)


def test_prompt_prints_the_greedy_reply(runs):
    model, tokenizer, _, _ = load_trained(runs[1])
    pieces = []
    generate_reply(model, tokenizer, [{"role": "user", "content": "What is 12+34?"}], max_new_tokens=12,
                   on_text=pieces.append)
    result = minilm("chat", "--out", runs[1], "--prompt", "What is 12+34?", "--max-new-tokens", "12")
    assert result.returncode == 0 and result.stdout == "".join(pieces) + "\n"


def test_piped_conversation_commands_and_history_trimming(runs):
    script = "\n".join(["/temperature 0.5", "/temperature hot", "/clear", "/nonsense", "/temperature 0",
                        *["What is 123+456? " * 2] * 3, "/quit", "What is 1+1?"]) + "\n"
    result = minilm("chat", "--out", runs[1], "--max-new-tokens", "4", stdin=script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == ["(temperature 0.5)", "(/temperature needs a number >= 0, e.g. /temperature 0.7; got 'hot')",
                         "(conversation cleared)", lines[3]] and lines[3].startswith("(unknown command /nonsense")
    assert len(lines) == 5 + 3                        # three replies; nothing after /quit
    assert result.stderr.count("oldest turns are dropped") == 1
    ended = minilm("chat", "--out", runs[1], "--max-new-tokens", "2", stdin="What is 1+1?\n")   # Ctrl-D: EOF
    assert ended.returncode == 0 and len(ended.stdout.splitlines()) == 1


def test_a_base_model_and_bad_flags_are_one_line(runs):
    result = minilm("chat", "--out", runs[0], "--prompt", "hi")
    assert result.returncode == 2 and "has no chat format" in result.stderr and len(result.stderr.splitlines()) == 1
    result = minilm("chat", "--out", runs[1], "--temperature", "-1")
    assert result.returncode == 2 and "--temperature: must be >= 0, got -1" in result.stderr


def test_eval_task_is_exact_match_on_test_items(runs, capsys):
    assert main(["eval", "--out", runs[1], "--task", "arithmetic", "--n", "5", "--max-new-tokens", "6"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["items"] == 5 and set(record["by_kind"]) == {"add2", "add3", "sub3", "mul2", "mul2x"}
    assert 0 <= record["accuracy"] <= 1
