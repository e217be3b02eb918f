"""The minilm command as a user meets it: no run is lost, one trainer per run, clean stops, one-line errors.

Every case runs `python -m minilm ...` in a subprocess and checks the exit
status, that no traceback is printed, that the message names the thing, and
(where a run exists) that no byte of it changed.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import TINY
from helpers import assert_one_line_error
from helpers import run_minilm as minilm

from minilm.train.checkpoint import read_pointer


def start(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "minilm", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=None if env is None else {**os.environ, **env})


def folder_bytes(folder):
    """{relative path: content} of every file under folder."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


def train_args(corpus, out, *more):
    return ["train", *TINY, "--data", corpus, "--out_dir", str(out), *more]


def logged_steps(out):
    try:
        with open(os.path.join(out, "log.jsonl")) as f:
            return [json.loads(line)["step"] for line in f if line.endswith("\n") and '"loss"' in line]
    except FileNotFoundError:
        return []


def wait_for(condition, proc, seconds=60):
    deadline = time.time() + seconds
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, corpus):
    """A run trained to step 4, shared read-only by the tests that must not change it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    done = minilm(*train_args(corpus, out, "--max_iters", "4", "--eval_interval", "2"))
    assert done.returncode == 0, done.stderr
    return out


# ---------------------------------------------------------------- a run is never overwritten
def test_training_into_a_trained_run_is_refused_and_changes_nothing(finished_run, corpus):
    before = folder_bytes(finished_run)
    refused = minilm(*train_args(corpus, finished_run, "--max_iters", "6"))
    line = assert_one_line_error(refused, 2, str(finished_run), "step 4", "--resume", "--overwrite")
    assert "nothing was changed" in line
    finished = minilm("train", "--resume", "--out_dir", str(finished_run), "--max_iters", "4")
    assert finished.returncode == 0 and "Traceback" not in finished.stderr
    assert f"{finished_run} is already trained to step 4 (max_iters 4): nothing to do" in finished.stdout
    both = minilm("train", "--resume", "--overwrite", "--out_dir", str(finished_run))
    assert_one_line_error(both, 2, "--resume", "--overwrite")
    assert folder_bytes(finished_run) == before


def test_overwrite_replaces_the_run_and_keeps_other_files(corpus, tmp_path):
    assert minilm(*train_args(corpus, tmp_path, "--max_iters", "4", "--eval_interval", "2")).returncode == 0
    (tmp_path / "notes.txt").write_text("mine")
    again = minilm(*train_args(corpus, tmp_path, "--max_iters", "2", "--eval_interval", "2", "--overwrite"))
    assert again.returncode == 0, again.stderr
    assert logged_steps(tmp_path) == [1, 2] and read_pointer(tmp_path)["latest"] == "checkpoints/step-000002"
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["step-000002"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------- one trainer per run
def test_a_run_in_training_is_locked_and_a_killed_trainer_leaves_no_lock(corpus, finished_run, tmp_path):
    out = tmp_path / "run"
    trainer = start(*train_args(corpus, out, "--max_iters", "1000000", "--eval_interval", "1000000"))
    try:
        wait_for(lambda: len(logged_steps(out)) >= 3, trainer)
        pid = str(trainer.pid)
        for args in (["train", "--resume", "--out_dir", str(out)],
                     train_args(corpus, out, "--max_iters", "5"),
                     ["train", *TINY, "--init-from", str(finished_run), "--out_dir", str(out), "--max_iters", "5"]):
            assert_one_line_error(minilm(*args), 2, str(out), f"process {pid}")
        reading = minilm("sample", "--out", str(out), "--max-new-tokens", "5", "--seed", "0")
        assert reading.returncode == 0, reading.stderr
    finally:
        trainer.kill()                                  # SIGKILL: no chance to clean up
        trainer.communicate()
    resumed = minilm("train", "--resume", "--out_dir", str(out), "--max_iters", "3")
    assert resumed.returncode == 0, resumed.stderr


# ---------------------------------------------------------------- Ctrl-C and SIGTERM
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_the_current_step_and_resume_is_bit_exact(corpus, tmp_path, signum, code):
    out, straight = tmp_path / "run", tmp_path / "straight"
    more = ["--eval_interval", "7", "--log_interval", "1"]
    trainer = start(*train_args(corpus, out, "--max_iters", "1000000", *more))
    wait_for(lambda: len(logged_steps(out)) >= 9, trainer)
    trainer.send_signal(signum)
    stdout, stderr = trainer.communicate(timeout=60)
    assert trainer.returncode == code, stderr
    assert "Traceback" not in stderr
    step = int(stderr.split("interrupted at step ")[1].split(";")[0])
    assert step >= 9 and f"; checkpoint saved; continue with: minilm train --resume --out_dir {out}" in stderr
    assert read_pointer(out)["latest"] == f"checkpoints/step-{step:06d}" and logged_steps(out)[-1] == step
    target = str(step + 5)
    assert minilm("train", "--resume", "--out_dir", str(out), "--max_iters", target).returncode == 0
    assert minilm(*train_args(corpus, straight, "--max_iters", target, *more)).returncode == 0
    losses = [[r["loss"] for r in map(json.loads, open(os.path.join(d, "log.jsonl"))) if "loss" in r]
              for d in (out, straight)]
    assert len(losses[0]) == step + 5 and losses[0] == losses[1]


def test_a_second_ctrl_c_while_saving_changes_nothing(corpus, tmp_path):
    # the test hook sleeps inside each save, after its files and before checkpoint.json
    trainer = start(*train_args(corpus, tmp_path, "--max_iters", "1000000", "--eval_interval", "1000000"),
                    env={"MINILM_TEST_SAVE_DELAY": "1"})
    wait_for(lambda: len(logged_steps(tmp_path)) >= 2, trainer)
    trainer.send_signal(signal.SIGINT)
    wait_for(lambda: len(os.listdir(tmp_path / "checkpoints")) == 2, trainer)   # the step's save has begun
    trainer.send_signal(signal.SIGINT)
    _, stderr = trainer.communicate(timeout=60)
    assert trainer.returncode == 130 and "Traceback" not in stderr, stderr
    step = int(stderr.split("interrupted at step ")[1].split(";")[0])
    assert read_pointer(tmp_path)["latest"] == f"checkpoints/step-{step:06d}"
    assert minilm("train", "--resume", "--out_dir", str(tmp_path), "--max_iters", str(step + 1)).returncode == 0


# ---------------------------------------------------------------- bad input is one line
OUT_OF_RANGE = [
    (["train", "--learning_rate", "-1"], "learning_rate must be > 0, got -1.0"),
    (["sample", "--top-p", "2"], "--top-p: must be in (0, 1], got 2"),
    (["train", "--learning_rate", "0"], "learning_rate must be > 0, got 0.0"),
    (["train", "--dropout", "1"], "dropout must be in [0, 1), got 1.0"),
    (["train", "--max_iters", "50", "--warmup_iters", "100"], "warmup_iters (100) must be <= max_iters (50)"),
    (["train", "--device", "tpu"], "device must be one of 'cpu', 'cuda', 'emu', got 'tpu'"),
    (["train", "--bpe_vocab_size", "100"], "bpe_vocab_size must be >= 256, got 100"),
    (["sample", "--max-new-tokens", "-5"], "--max-new-tokens: must be >= 0, got -5"),
    (["sample", "--top-k", "0"], "--top-k: must be >= 1, got 0"),
    (["sample", "--temperature", "-1"], "--temperature: must be >= 0, got -1"),
    (["sample", "--num-samples", "0"], "--num-samples: must be >= 1, got 0"),
    (["eval", "--batch-size", "0"], "--batch-size: must be >= 1, got 0"),
    (["eval", "--max-batches", "0"], "--max-batches: must be >= 1, got 0"),
    (["prepare", "--out", "x", "--vocab-size", "10"], "--vocab-size: must be >= 256, got 10"),
]


def test_out_of_range_values_are_refused_before_any_work(tmp_path, monkeypatch, capsys):
    """Two as a user types them; the rest through the same entry point in this process (faster)."""
    from minilm.cli import main
    for args, words in OUT_OF_RANGE[:2]:
        assert_one_line_error(minilm(*args, cwd=tmp_path), 2, words)
    monkeypatch.chdir(tmp_path)
    for args, words in OUT_OF_RANGE[2:]:
        assert main(args) == 2, args
        captured = capsys.readouterr()
        assert captured.err == f"minilm {args[0]}: {captured.err.split(': ', 1)[1]}" and words in captured.err
        assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert os.listdir(tmp_path) == []


def test_missing_devices_say_what_to_install(finished_run, tmp_path):
    try:
        import cupy  # noqa: F401
    except ImportError:
        for args in (["train", "--device", "cuda"], ["sample", "--out", str(finished_run), "--device", "cuda"]):
            assert_one_line_error(minilm(*args, cwd=tmp_path), 2, "device 'cuda' needs CuPy", "pip install 'minilm[gpu]'")
    no_compiler = minilm("train", "--device", "emu", cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert_one_line_error(no_compiler, 2, "device 'emu'", "g++", "not installed")
    assert os.listdir(tmp_path) == []


def test_cupy_without_a_gpu_says_so(tmp_path):
    """A stand-in CuPy whose runtime finds no device, as on a machine without a GPU (or with none visible)."""
    fake = tmp_path / "fake" / "cupy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "__version__ = '0-stand-in'\n"
        "class _Runtime:\n"
        "    def getDeviceCount(self):\n"
        "        raise RuntimeError('cudaErrorNoDevice: no CUDA-capable device is detected')\n"
        "    runtimeGetVersion = driverGetVersion = getDeviceCount\n"
        "class cuda:\n"
        "    runtime = _Runtime()\n")
    env = {"PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}
    run = minilm("train", "--device", "cuda", cwd=tmp_path, env=env)
    assert_one_line_error(run, 2, "device 'cuda': CuPy is installed but sees no GPU", "cudaErrorNoDevice",
                          "CUDA_VISIBLE_DEVICES")
    doctor = json.loads(minilm("doctor", "--json", env=env).stdout)
    cuda = [c for c in doctor["checks"] if c["device"] == "cuda"]
    assert cuda and all(c["status"] == "not available" and "sees no GPU" in c["detail"] for c in cuda)
    assert "0-stand-in" in doctor["versions"]["cupy"]


def test_a_file_in_another_encoding_names_the_file_the_offset_and_the_way_out(corpus, tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("First Citizen:\nBefore we proceed any further, hear me speak caf\xe9.\n".encode("latin-1") * 40)
    offset = latin.read_bytes().index(b"\xe9")
    for command in (train_args(str(latin), tmp_path / "run", "--max_iters", "2"),
                    ["prepare", "--input", str(latin), "--out", str(tmp_path / "ds")]):
        assert_one_line_error(minilm(*command), 2, f"{latin} is not valid utf-8", f"byte 0xe9 at byte offset {offset}",
                              "--encoding")
    assert sorted(os.listdir(tmp_path)) == ["latin.txt"]
    fixed = minilm("prepare", "--input", str(latin), "--out", str(tmp_path / "ds"), "--encoding", "latin-1")
    assert fixed.returncode == 0, fixed.stderr
    trained = minilm(*train_args(str(latin), tmp_path / "run", "--max_iters", "2", "--encoding", "latin-1"))
    assert trained.returncode == 0 and "é" in json.load(open(tmp_path / "ds" / "meta.json"))["tokenizer"]["chars"]


# ---------------------------------------------------------------- minilm doctor
def test_doctor_checks_every_device_it_names():
    text = minilm("doctor")
    assert text.returncode == 0, text.stdout + text.stderr
    assert "numpy" in text.stdout and "blas" in text.stdout and "cpu   gpt      ok" in text.stdout
    as_json = minilm("doctor", "--json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and {"python", "minilm", "numpy", "blas", "cupy"} <= set(report["versions"])
    devices = {c["device"] for c in report["checks"]}
    assert {"cpu", "emu", "cuda"} <= devices
    for c in report["checks"]:
        assert c["status"] in ("ok", "not available") and c["detail"], c


# ---------------------------------------------------------------- a failed start leaves nothing behind
def test_a_run_that_fails_before_training_takes_back_what_it_created(corpus, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's own file")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9\n" * 50)
    assert_one_line_error(minilm(*train_args(str(latin), mine)), 2, "not valid utf-8")
    assert sorted(os.listdir(mine)) == ["notes.txt"]               # no train.lock, no data/
    short = tmp_path / "short.txt"
    short.write_text("too short to fill one window\n")              # fails after data/ is prepared
    assert_one_line_error(minilm(*train_args(str(short), mine)), 2, "block_size")
    assert sorted(os.listdir(mine)) == ["notes.txt"]
    assert_one_line_error(minilm(*train_args(str(short), tmp_path / "new")), 2, "block_size")
    assert not (tmp_path / "new").exists()
    assert minilm(*train_args(corpus, mine, "--max_iters", "2")).returncode == 0   # the folder is usable after


def test_prepare_into_a_prepared_folder_needs_overwrite(corpus, tmp_path):
    out = tmp_path / "data"
    assert minilm("prepare", "--input", corpus, "--out", str(out)).returncode == 0
    before = folder_bytes(out)
    assert_one_line_error(minilm("prepare", "--input", corpus, "--out", str(out), "--tokenizer", "bpe"), 2,
                          f"{out} already holds a prepared dataset", "--overwrite")
    assert folder_bytes(out) == before
    again = minilm("prepare", "--input", corpus, "--out", str(out), "--overwrite", "--tokenizer", "bpe",
                   "--vocab-size", "260")
    assert again.returncode == 0 and json.load(open(out / "meta.json"))["vocab_size"] == 260


def test_doctor_names_minilm_threads_beside_blas():
    two = json.loads(minilm("doctor", "--json", env={"MINILM_THREADS": "2"}).stdout)["versions"]["minilm threads"]
    if (os.cpu_count() or 1) >= 2:
        assert two.startswith("2; BLAS on 1 by design") and "MINILM_THREADS" in two
    one = json.loads(minilm("doctor", "--json", env={"MINILM_THREADS": "1"}).stdout)["versions"]
    assert one["minilm threads"].startswith("1; BLAS keeps its own threads")
