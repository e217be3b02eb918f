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
