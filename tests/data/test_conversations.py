"""Conversation JSONL: both record forms, every kind of bad line with its number, --skip-bad-lines."""
import json

import pytest

from minilm.data.conversations import calculator_call, check_conversation, read_conversations, split_conversations

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def write(tmp_path, lines):
    path = tmp_path / "chats.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_prompt_completion_becomes_two_messages():
    assert check_conversation({"prompt": "a", "completion": "b"}) == [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


def test_tool_call_arguments_as_a_json_string_are_normalised():
    record = {"messages": [{"role": "user", "content": "2*3"},
                           {"role": "assistant", "content": None, "tool_calls": [
                               {"type": "function", "function": {"name": "calculator",
                                                                 "arguments": '{"expression": "2*3"}'}}]},
                           {"role": "tool", "content": "6"}, {"role": "assistant", "content": "6"}]}
    assert check_conversation(record)[1] == {"role": "assistant", "content": "", "tool_calls": [calculator_call("2*3")]}


def test_bad_lines_are_numbered_with_their_reason_and_stop(tmp_path):
    lines = [json.dumps(GOOD), "{not json",
             json.dumps({"messages": [{"role": "bot", "content": "x"}]}),
             json.dumps({"messages": []}),
             json.dumps({"messages": [{"role": "user", "content": "x"}]}),
             "",
             json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "1"},
                                      {"role": "assistant", "content": "y"}]}),
             json.dumps({"prompt": "p", "completion": "c"})]
    path = write(tmp_path, lines)
    with pytest.raises(ValueError) as error:
        read_conversations(path)
    message = str(error.value)
    assert "2 good and 5 bad lines" in message
    for expected in ("line 2: not JSON", "line 3: message 0 has unknown role 'bot'", "line 4: empty conversation",
                     "line 5: no assistant turn", "line 7: message 1 (tool) does not follow", "--skip-bad-lines"):
        assert expected in message
    reports = []
    good = read_conversations(path, skip_bad_lines=True, report=reports.append)
    assert len(good) == 2 and "skipping the bad lines" in reports[0]


def test_a_file_of_only_bad_lines_stops_even_when_skipping(tmp_path):
    with pytest.raises(ValueError, match="0 good and 1 bad"):
        read_conversations(write(tmp_path, ["[1, 2]"]), skip_bad_lines=True)


def test_split_is_by_whole_conversation_and_seeded():
    conversations = [[{"role": "user", "content": str(i)}, {"role": "assistant", "content": "x"}] for i in range(20)]
    train, val = split_conversations(conversations, 0.1, seed=3)
    assert len(train) == 18 and len(val) == 2
    assert sorted(c[0]["content"] for c in train + val) == sorted(str(i) for i in range(20))
    assert split_conversations(conversations, 0.1, seed=3) == (train, val)
