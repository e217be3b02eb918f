"""Bundled chat tasks: disjoint splits by construction, reproducible items, right answers, exact-match rewards."""
import pytest

from minilm.data.tasks import get_task, split_of, task_names
from minilm.data.tasks.spelling import counted


@pytest.mark.parametrize("name", ["arithmetic", "spelling", "shakespeare"])
def test_splits_are_disjoint_and_reproducible(name):
    task = get_task(name)
    keys = {}
    for split in ("train", "val", "test"):
        items = task.items(split, 60, seed=1)
        assert items == task.items(split, 60, seed=1)
        keys[split] = {(item.kind, item.prompt) for item in items}
        assert len(keys[split]) == 60
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["val"] and not keys["val"] & keys["test"]
    for item in task.items("test", 20, seed=2):
        assert set(item.prompt + item.reply + item.system) <= set(task.alphabet())
        assert task.reward(item, item.reply) == 1.0 and task.reward(item, item.reply + "0") == 0.0


def test_arithmetic_answers_and_the_tool_call():
    task = get_task("arithmetic")
    for item in task.items("val", 50, seed=0):
        a, op, b = item.prompt[len("What is "):-1].partition(next(c for c in "+-*" if c in item.prompt[8:]))
        assert int(item.answer) == {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]
        assert (item.call == f"{a}*{b}") == (item.kind == "mul2") and bool(item.system) == (item.kind == "mul2x")
    mul = next(item for item in task.items("train", 10) if item.kind == "mul2")
    roles = [m["role"] for m in task.conversation(mul)]
    assert roles == ["user", "assistant", "tool", "assistant"]


def test_a_test_word_is_never_a_training_word():
    task = get_task("spelling")
    word = lambda item: item.prompt.split("'")[-2]                        # noqa: E731
    train = {word(item) for item in task.items("train", 400, seed=0)}
    test = {word(item) for item in task.items("test", 100, seed=0)}
    assert not train & test and all(split_of("spelling", w) == "test" for w in test)
    assert counted("strawberry", "r") == ("st1awbe23y: 3", "3")
    assert task.final_answer("st1awbe23y: 3") == "3"


def test_task_names():
    assert task_names("arithmetic, spelling") == ["arithmetic", "spelling"]
    with pytest.raises(ValueError, match="unknown task 'math'"):
        task_names("math")


def test_a_kind_the_task_lacks_is_refused_not_drawn():
    """Items of a kind another task has would be that task's draw of garbage: refused, naming the kinds."""
    spelling = get_task("spelling")
    with pytest.raises(ValueError, match="task spelling has no kind 'add3'; its kinds: count, spell"):
        spelling.items("test", 4, kinds=("count", "add3"))
    assert {item.kind for item in spelling.items("test", 4, kinds=("count",))} == {"count"}
