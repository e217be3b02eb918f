"""`minilm train --dtype`: bf16/fp16 matrix products in training, recorded in the checkpoint, kept on resume."""
import json

from conftest import TINY

from minilm.cli import main
from minilm.train.checkpoint import checkpoint_folder
from minilm.train.loop import Trainer


def saved_config(out):
    with open(f"{checkpoint_folder(out)}/state.json") as f:
        return json.load(f)["config"]


def test_dtype_is_recorded_and_kept_on_resume(corpus, tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", *TINY, "--data", corpus, "--out_dir", out, "--eval_interval", "3"]
    assert main([*args, "--max_iters", "3", "--dtype", "bfloat16"]) == 0
    assert saved_config(out)["dtype"] == "bfloat16"
    assert main([*args, "--max_iters", "6", "--resume"]) == 0          # no --dtype: the saved one
    assert saved_config(out)["dtype"] == "bfloat16"


def test_bad_dtype_is_one_line(corpus, tmp_path, capsys):
    assert main(["train", *TINY, "--data", corpus, "--out_dir", str(tmp_path), "--dtype", "half"]) != 0
    err = capsys.readouterr().err
    assert "dtype" in err and "bfloat16" in err and "Traceback" not in err


def test_bf16_and_fp16_training_stay_close_to_float32(tiny, log_records, tmp_path):
    losses = {}
    for dtype in ("float32", "bfloat16", "float16"):
        Trainer(tiny(tmp_path / dtype, max_iters=12, eval_interval=6, dtype=dtype)).run()
        losses[dtype] = log_records(tmp_path / dtype, "loss")
    for dtype in ("bfloat16", "float16"):
        assert losses[dtype] != losses["float32"]                        # the precision was really used
        assert all(abs(a - b) <= 0.02 * b for a, b in zip(losses[dtype], losses["float32"])), dtype


def test_float16_resume_is_bit_identical_with_its_loss_scale(tiny, log_records, tmp_path):
    Trainer(tiny(tmp_path / "straight", max_iters=8, eval_interval=4, dtype="float16")).run()
    Trainer(tiny(tmp_path / "split", max_iters=4, eval_interval=4, dtype="float16")).run()
    with open(f"{checkpoint_folder(tmp_path / 'split')}/state.json") as f:
        assert json.load(f)["grad_scaler"]["scale"] == 2.0**16
    Trainer(tiny(tmp_path / "split", max_iters=8, eval_interval=4, dtype="float16", resume=True)).run()
    assert log_records(tmp_path / "split", "loss") == log_records(tmp_path / "straight", "loss")
