"""Every example runs (in its quick --smoke mode), so none can rot."""
import glob
import os
import subprocess
import sys

import pytest

EXAMPLES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "examples", "*.py")))


def test_every_example_is_covered():
    names = {os.path.basename(p) for p in EXAMPLES}
    assert names >= {"char_lstm_shakespeare.py", "gpt_shakespeare.py", "bpe_tokenizer.py", "seq2seq_reverse.py",
                     "finetune_classifier.py", "word2vec.py", "gradcheck_tour.py", "glove.py",
                     "bert_pretrain_finetune.py"}


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example_runs(path, tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, path, "--smoke"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.strip().splitlines()) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_a_bad_flag_is_one_line_and_exit_2(path, tmp_path):
    result = subprocess.run([sys.executable, path, "--no-such-flag"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    line, name = result.stderr.strip(), os.path.basename(path)
    assert "\n" not in line and line.startswith(f"{name}: ") and "no" in line and "such" in line, line


def test_a_refused_run_folder_is_one_line_and_overwrite_replaces_it(tmp_path):
    script = os.path.join(os.path.dirname(EXAMPLES[0]), "gpt_shakespeare.py")
    run = lambda *flags: subprocess.run([sys.executable, script, "--smoke", "--out_dir", "run", *flags],  # noqa: E731
                                        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run().returncode == 0
    refused = run()
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("gpt_shakespeare.py: run already holds a run trained to step 4")
    assert refused.stderr.count("\n") == 1
    assert run("--overwrite").returncode == 0
