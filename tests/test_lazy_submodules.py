"""`import minilm` gives minilm.models, .data, .tokenizers, .metrics, .train and .kernels, imported on first use."""
import subprocess
import sys

import minilm


def test_submodules_are_attributes_after_import_minilm():
    code = ("import sys, minilm\n"
            "eager = [m for m in ('models', 'data', 'tokenizers', 'metrics', 'train', 'cli')\n"
            "         if 'minilm.' + m in sys.modules]\n"
            "assert eager == [], f'imported by import minilm: {eager}'\n"
            "gpt = minilm.models.GPT(minilm.models.GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4))\n"
            "assert minilm.metrics.perplexity(0.0) == 1.0 and minilm.tokenizers.CharTokenizer and minilm.data\n"
            "assert minilm.train.Trainer and minilm.train.TrainConfig().max_iters > 0 and minilm.kernels.enabled\n"
            "assert set(minilm.LAZY_SUBMODULES) <= set(dir(minilm))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_an_unknown_attribute_is_still_an_attribute_error():
    try:
        minilm.modles
    except AttributeError as e:
        assert "no attribute 'modles'" in str(e)
    else:
        raise AssertionError("minilm.modles did not raise")
