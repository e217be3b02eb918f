"""minilm sft: packed rows with the assistant-only loss, new vocabulary rows, exact resume, bad lines, refusals."""
import json

import numpy as np
import pytest

from minilm.cli import main
from minilm.tokenizers import CharTokenizer
from minilm.tokenizers.chat_format import add_chat_tokens, render
from minilm.train import Trainer
from minilm.train.checkpoint import checkpoint_folder
from minilm.train.evaluation import IGNORE
from minilm.train.sft import PackedConversations, grown_embeddings
from minilm.train.trained import load_trained

SFT_TINY = ["--batch_size", "4", "--eval_iters", "2", "--progress", "false", "--eval-items", "2"]


@pytest.fixture(scope="module")
def base(tmp_path_factory, corpus):
    """A tiny trained GPT with a 40-token context (a few steps: its weights only need to exist)."""
    from minilm.train.config import config_from
    out = tmp_path_factory.mktemp("base")
    Trainer(config_from(overrides=dict(data=corpus, out_dir=str(out), n_layer=1, n_head=2, n_embd=16, block_size=40,
                                       batch_size=4, max_iters=2, eval_iters=1, warmup_iters=0, progress=False))).run()
    return str(out)


@pytest.fixture
def chats(tmp_path):
    lines = [{"messages": [{"role": "user", "content": f"{a} and {b}?"}, {"role": "assistant", "content": f"{a + b}"}]}
             for a in range(12) for b in range(5)]
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_packing_masks_everything_but_the_assistant_tokens():
    tok = add_chat_tokens(CharTokenizer.from_text("ab?"))
    conversations = [[{"role": "user", "content": "a?"}, {"role": "assistant", "content": "b"}],
                     [{"role": "user", "content": "ab"}, {"role": "assistant", "content": "ba"}]]
    rendered = [render(tok, c) for c in conversations]                # 7 and 8 tokens
    end = tok.special_tokens["<|end|>"]
    packed = PackedConversations(rendered, block_size=15, pad_id=end, what="train")
    assert packed.tokens.tolist() == [rendered[0][0] + rendered[1][0] + [end]]
    x, y = packed.get_batch(2, np.random.default_rng(0))
    assert x.numpy()[0].tolist() == packed.tokens[0, :-1].tolist()
    targets = y.numpy()[0].tolist()
    learned = [i for i, t in enumerate(targets) if t != IGNORE]    # "b" <|end|>, "ba" <|end|> (targets: one left)
    assert learned == [4, 5, 11, 12, 13] and [targets[i] for i in learned] == [tok.encode("b")[0], end,
                                                                              *tok.encode("ba"), end]
    short = PackedConversations(rendered, block_size=7, pad_id=end, what="train")   # a row each, the first padded
    assert short.tokens.shape == (2, 8) and short.mask[0].tolist() == [0, 0, 0, 0, 0, 1, 1, 0]
    assert PackedConversations(rendered, block_size=6, pad_id=end, what="train").left_out == 1


def test_new_embedding_rows_are_drawn_around_the_mean_with_the_rows_spread():
    rows = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    state = grown_embeddings({"transformer.wte.weight": rows, "lm_head.weight": rows}, 13, seed=1)
    wte = state["transformer.wte.weight"]
    assert wte.shape == (13, 4) and np.array_equal(wte[:10], rows)
    grown = grown_embeddings({"transformer.wte.weight": rows}, 5000, seed=1)["transformer.wte.weight"][10:]
    np.testing.assert_allclose(grown.mean(axis=0), rows.mean(axis=0), atol=0.1)     # around the mean ...
    np.testing.assert_allclose(grown.std(axis=0), rows.std(axis=0), rtol=0.1)       # ... with the rows' spread
    assert np.array_equal(state["lm_head.weight"], wte)                  # tied rows stay equal


def test_sft_resume_is_bit_identical(base, chats, tmp_path, log_records):
    """8 steps straight == 4 steps, then --resume to 8 (losses equal to the last bit)."""
    common = ["--init-from", base, "--data", chats, *SFT_TINY, "--eval_interval", "4", "--lr_decay_iters", "8",
              "--warmup_iters", "0"]
    straight, split = str(tmp_path / "straight"), str(tmp_path / "split")
    assert main(["sft", *common, "--out_dir", straight, "--max_iters", "8"]) == 0
    assert main(["sft", *common, "--out_dir", split, "--max_iters", "4"]) == 0
    assert main(["sft", "--resume", "--out_dir", split, "--max_iters", "8"]) == 0
    assert len(log_records(straight, "loss")) == 8
    assert log_records(split, "loss") == log_records(straight, "loss")
    assert log_records(split, "val_loss") == log_records(straight, "val_loss")
    model, tok, cfg, state = load_trained(split)
    assert state["sft"]["data"] == chats and "<|assistant|>" in tok.special_tokens
    assert model.config.vocab_size == tok.vocab_size > 65                   # digits and chat tokens added


def test_bad_lines_stop_before_training_and_skipping_trains(base, chats, tmp_path, capsys):
    with open(chats, "a") as f:
        f.write('{"messages": [{"role": "bot", "content": "x"}]}\n')
    out = str(tmp_path / "bad")
    assert main(["sft", "--init-from", base, "--data", chats, "--out_dir", out, *SFT_TINY, "--max_iters", "2"]) == 2
    assert "60 good and 1 bad lines (line 61: message 0 has unknown role 'bot'" in capsys.readouterr().err
    assert not (tmp_path / "bad" / "checkpoint.json").exists()
    assert main(["sft", "--init-from", base, "--data", chats, "--out_dir", out, *SFT_TINY, "--max_iters", "2",
                 "--skip-bad-lines"]) == 0
    assert checkpoint_folder(out, "latest")


def test_refusals_are_one_line(base, chats, tmp_path, capsys):
    assert main(["sft", "--data", chats, "--out_dir", str(tmp_path / "x")]) == 2
    assert "give --init-from" in capsys.readouterr().err
    assert main(["sft", "--init-from", base, "--out_dir", str(tmp_path / "x")]) == 2
    assert "nothing to fine-tune on" in capsys.readouterr().err
    assert main(["sft", "--init-from", base, "--task", "poetry", "--out_dir", str(tmp_path / "x")]) == 2
    assert "unknown task 'poetry'" in capsys.readouterr().err
    assert main(["sft", "--init-from", base, "--data", chats, "--learning_rate", "-1",
                 "--out_dir", str(tmp_path / "x")]) == 2
    assert "learning_rate must be > 0" in capsys.readouterr().err


def test_a_trained_out_dir_is_refused_with_the_sft_command(base, chats, tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["sft", "--init-from", base, "--data", chats, "--out_dir", out, *SFT_TINY, "--max_iters", "1"]
    assert main(args) == 0
    assert main(args) == 2
    assert f"Continue it with `minilm sft --resume --out_dir {out}`" in capsys.readouterr().err
    assert main(["sft", "--resume", "--out_dir", base]) == 2
    assert "holds a `minilm train` run" in capsys.readouterr().err
