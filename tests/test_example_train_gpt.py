"""examples/train_gpt.py: the default run written out trains (--smoke), with minilm train's settings."""
import importlib.util
import math
import os
import re
import subprocess
import sys

from minilm.models import GPTConfig
from minilm.train.config import DEFAULT_PRESET, config_from

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "examples", "train_gpt.py")


def run(*flags, cwd):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, SCRIPT, *flags], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_smoke_run_lowers_the_loss_and_prints_a_sample(tmp_path):
    result = run("--smoke", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    evals = re.findall(r"^step (\d+): train loss (\S+), val loss (\S+)$", result.stdout, re.M)
    assert len(evals) >= 2, result.stdout
    assert all(math.isfinite(float(loss)) for _, train, val in evals for loss in (train, val)), evals
    val = [float(v) for _, _, v in evals]
    assert val[-1] < val[0] - 0.5, f"the val loss did not go down: {val}"
    sample = result.stdout.split("-" * 60 + "\n", 1)[1]
    assert sample.strip(), "no sample printed"
    assert os.path.exists(tmp_path / "out" / "model.safetensors")


def test_its_settings_are_those_of_the_default_run():
    spec = importlib.util.spec_from_file_location("train_gpt", SCRIPT)
    train_gpt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_gpt)                   # (main() runs only as a script)
    defaults = config_from(DEFAULT_PRESET).to_dict()     # what `minilm train` runs without --preset
    assert {k: defaults[k] for k in train_gpt.DEFAULTS} == train_gpt.DEFAULTS
    # what the script does not set: the default run's data and GPTConfig's own defaults
    fixed = dict(data="shakespeare", speaker="", data_dir="", tokenizer="char", model="gpt", dtype="float32",
                 top_p=0.0, vocab_size=0, muon_weight_decay=0.0, lr_schedule="cosine", zero_init_proj=False,
                 logit_softcap=0.0, value_residual=False)
    assert {k: defaults[k] for k in fixed} == fixed
    gpt = GPTConfig()
    assert all(getattr(gpt, k) == defaults[k] for k in ("rope_theta", "tie_embeddings", "norm_eps"))


def test_a_bad_flag_is_one_line(tmp_path):
    for flags in (["--max-iters", "x"], ["--max-iters", "0"], ["--device", "tpu"], ["--bogus"]):
        result = run(*flags, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == "", (flags, result.stdout)
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("train_gpt.py: "), \
            (flags, result.stderr)


def test_its_weights_are_never_overwritten_silently(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"trained weights")
    refused = run("--smoke", "--out", str(out), cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (f"train_gpt.py: {out / 'model.safetensors'} already exists; nothing was changed. "
                                      "Replace it with --overwrite, or choose another --out")
    assert (out / "model.safetensors").read_bytes() == b"trained weights"
    assert run("--smoke", "--out", str(out), "--overwrite", cwd=tmp_path).returncode == 0


def test_a_short_run_scales_the_schedule_as_minilm_train_does(tmp_path):
    default, cfg = config_from(DEFAULT_PRESET), config_from(DEFAULT_PRESET, overrides={"max_iters": 3})
    result = run("--max-iters", "3", "--device", "cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[0] == (f"a run of 3 steps: lr_decay_iters {default.lr_decay_iters} -> "
                                             f"{cfg.lr_decay_iters}, warmup_iters {default.warmup_iters} -> "
                                             f"{cfg.warmup_iters}, log_interval 10 -> 3 "
                                             "(shortened to fit the run; set them to choose)")
