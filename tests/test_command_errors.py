"""How the command reports errors (minilm/errors.py, run_command in minilm/cli/): a user's error is one line
and an exit status, a bug inside minilm keeps its traceback."""
import errno
import os

import pytest

from minilm.cli import run_command
from minilm.errors import Interrupted, RunLocked, user_message


def test_user_errors_become_one_line_and_an_exit_status(capsys):
    def bad_value(argv):
        raise ValueError("n_layer must be >= 1, got 0")
    assert run_command("train", bad_value, []) == 2
    assert capsys.readouterr().err == "minilm train: n_layer must be >= 1, got 0\n"
    cases = [
        (FileNotFoundError("no checkpoint in 'out'"), "no checkpoint in 'out'", 2),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "x.json"), "x.json: No such file or directory", 2),
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "out/log.jsonl"), "out/log.jsonl: No space left on device", 1),
        (PermissionError(errno.EACCES, "Permission denied", "out"), "out: Permission denied", 1),
        (RunLocked("out is being trained by process 7"), "out is being trained by process 7", 2),
        (Interrupted("interrupted at step 3", 15), "interrupted at step 3", 143),
        (KeyboardInterrupt(), "interrupted", 130),
    ]
    for error, message, code in cases:
        assert user_message(error) == (message, code)


@pytest.mark.parametrize("bug", [TypeError("unsupported operand"), KeyError("train_loss"), AttributeError("x"),
                                 RuntimeError("backward twice"), OSError(errno.EBADF, "Bad file descriptor")])
def test_a_bug_keeps_its_traceback(bug):
    def broken(argv):
        raise bug
    assert user_message(bug) is None
    with pytest.raises(type(bug)):
        run_command("train", broken, [])
