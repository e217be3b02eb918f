"""Tasks: labelled lines for classifiers (labelled.py), and chat tasks with checkable answers.

Chat tasks (task.py explains items, splits and rewards):

    arithmetic    addition and subtraction up to 3 digits, multiplication with the calculator
    spelling      letter counting ("How many r's in 'strawberry'?") and spelling out words
    shakespeare   "Who says: '...'?" on the bundled plays

    from minilm.data.tasks import get_task
    task = get_task("arithmetic")
    task.items("train", 1000, seed=0), task.conversation(item), task.reward(item, reply_text)
"""
from .arithmetic import Arithmetic
from .labelled import shuffled_lines, speaker_lines, typo_lines
from .shakespeare import WhoSpeaks
from .spelling import Spelling
from .task import SPLITS, ChatTask, Item, split_of

TASKS = {"arithmetic": Arithmetic, "spelling": Spelling, "shakespeare": WhoSpeaks}


def get_task(name):
    """The chat task called name (one of TASKS)."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]()


def task_names(text):
    """'arithmetic,spelling' -> ['arithmetic', 'spelling'], each checked."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names or [text]:
        if name not in TASKS:
            raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)} (several: --task arithmetic,spelling)")
    return names


__all__ = ["TASKS", "get_task", "task_names", "ChatTask", "Item", "SPLITS", "split_of", "Arithmetic", "Spelling",
           "WhoSpeaks", "typo_lines", "shuffled_lines", "speaker_lines"]
