"""A run that trained well exits 0 even when the closing sample cannot be drawn (its prompt is not in the vocabulary)."""
from helpers import run_minilm

TINY = ["--n_layer", "1", "--n_head", "2", "--n_embd", "16", "--block_size", "8", "--batch_size", "2",
        "--max_iters", "3", "--warmup_iters", "1", "--lr_decay_iters", "3", "--eval_interval", "3",
        "--eval_iters", "1", "--sample_tokens", "5", "--progress", "false"]


def test_data_without_the_default_prompt_still_finishes(tmp_path):
    data = tmp_path / "one_line.txt"
    data.write_text("abcab " * 400)                       # no "\n", the default prompt
    run = run_minilm("train", *TINY, "--data", str(data), "--out_dir", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "no sample" in run.stdout and "--prompt" in run.stdout
    assert (tmp_path / "out" / "checkpoint.json").exists()
