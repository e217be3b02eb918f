"""Who may write into a run folder, checked before anything is written.

A run folder (out_dir) holds a trained run once it has a checkpoint or a log
(holds_a_run: the one rule, for Trainer's out_dir and fit's checkpoint_dir).
Training into it again is refused, with the step it reached and the two ways
on, unless the run is resumed (`--resume`: it continues the run) or replaced
(`--overwrite`: only then is the old run removed). A folder that another
process trains is refused whatever the flags (see lock.py). Every refusal
happens before the first write, so a refused command leaves the folder
byte-identical. claim_run_folder takes the lock once; the Trainer holds it
from its construction to the end of run().

--overwrite removes only the run that training wrote there (RUN_FILES): an
out_dir such as `.` may hold the user's other files. The tokenized corpus in
out_dir/data stays: the new run reuses it if it was made from the same text
with the same tokenizer, and tokenizes anew otherwise (see setup.py).
"""
import os
import shutil

from ..errors import RunExists
from .checkpoint import POINTER, checkpoint_folder, load_state, read_pointer
from .lock import RunLock, check_unlocked

RUN_FILES = (POINTER, "checkpoints", "log.jsonl", "loss.png")


def reached_step(out_dir):
    """The step of out_dir's latest checkpoint, or None if it has none."""
    if read_pointer(out_dir) is None:
        return None
    return load_state(checkpoint_folder(out_dir, "latest"))["step"]


def holds_a_run(out_dir):
    """Does out_dir hold a run: a checkpoint pointer or a training log?"""
    return os.path.exists(os.path.join(out_dir, POINTER)) or os.path.exists(os.path.join(out_dir, "log.jsonl"))


def refuse_to_overwrite(out_dir, command="train"):
    step = reached_step(out_dir)
    what = f"a run trained to step {step}" if step is not None else "a run's log (no checkpoint yet)"
    raise RunExists(f"{out_dir} already holds {what}; nothing was changed. Continue it with "
                    f"`minilm {command} --resume --out_dir {out_dir}`, or start over with --overwrite "
                    "(deletes that run), or choose another --out_dir")


def remove_run(out_dir):
    for name in RUN_FILES:
        path = os.path.join(out_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def claim_run_folder(cfg, overwrite=False, command="train"):
    """The lock on cfg.out_dir for this trainer, after refusing what would lose a run (see above)."""
    out_dir, overwrite = cfg.out_dir, overwrite or cfg.overwrite
    check_unlocked(out_dir)
    if cfg.init_from and os.path.abspath(cfg.init_from) == os.path.abspath(out_dir):
        raise ValueError(f"--init-from {cfg.init_from} is also the output folder: fine-tuning would "
                         "overwrite the model it starts from; choose another --out_dir")
    if not cfg.resume and not overwrite and holds_a_run(out_dir):
        refuse_to_overwrite(out_dir, command)
    lock = RunLock(out_dir).acquire()
    if overwrite and not cfg.resume:
        remove_run(out_dir)
    return lock

