"""Rewards for reinforcement learning: one pure function per task, (item, completion text) -> a number.

    reward = reward_function("arithmetic")
    reward(item, "843")                                  1.0 (item: What is 457+386?)
    reward_function("arithmetic", format_reward=0.1)     the same, with 0.1 for a well-formed wrong answer

The reward is the task's own exact-match check (data/tasks/task.py: the reply's final
answer, stripped, equal to the item's answer), so RL optimises exactly what `minilm eval
--task` measures:

    1                 the final answer is exactly right
    format_reward     a wrong answer that is well formed for the task: a number for arithmetic
                      and letter counting, letters joined by '-' for spelling, a speaker's name
                      in capitals for shakespeare (default 0: no format reward)
    0                 anything else: extra text, several numbers, an empty reply

The format reward is a small push towards answers of the right shape, useful when a
model starts out writing rubbish; it must stay well below 1, or a policy that writes
any number would be nearly as good as one that writes the right number. "Well formed"
means ASCII digits only: int("１２３") is 123 in Python, but a model that writes
full-width digits has not answered in the task's format (and exact match refuses it).

A function sees the completion's text after the last tool output (reply.py's
Reply.text), never the prompt's or the tool's text, so a calculator call that prints the
right number does not earn the reward unless the model copies it into its answer.
"""
import functools
import re

from ..data.tasks import get_task

WELL_FORMED = {                               # the shape of a final answer, per task (ASCII only: re.ASCII)
    "arithmetic": re.compile(r"-?[0-9]+", re.ASCII),
    "spelling": re.compile(r"[0-9]+|[a-z](-[a-z])*", re.ASCII),
    "shakespeare": re.compile(r"[A-Z][A-Z ]*", re.ASCII),
}


def exact_match_reward(task, item, completion, format_reward=0.0):
    """1.0 for the task's exact answer, format_reward for a well-formed wrong one, else 0.0 (see above)."""
    if task.reward(item, completion) == 1.0:
        return 1.0
    shape = WELL_FORMED[task.name]
    return format_reward if shape.fullmatch(task.final_answer(completion)) else 0.0


# the registry: task name -> its reward (a new task with checkable answers adds its line)
REWARDS = {name: exact_match_reward for name in WELL_FORMED}


def reward_function(task_name, format_reward=0.0):
    """The reward of task_name's items, a pure function f(item, completion text) -> float."""
    if task_name not in REWARDS:
        raise ValueError(f"no reward function for task {task_name!r}; tasks with one: {', '.join(REWARDS)}")
    if not 0 <= format_reward < 1:
        raise ValueError(f"format_reward must be in [0, 1) (below the reward of a right answer), got {format_reward}")
    return functools.partial(REWARDS[task_name], get_task(task_name), format_reward=format_reward)
