"""Conversations for supervised fine-tuning: JSONL files checked line by line, and a split by conversation.

One JSON object per line, in either of the two forms people already have:

    {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."},
                  {"role": "assistant", "content": "..."}, ...]}
    {"prompt": "What is 2+3?", "completion": "5"}          (a user turn and the assistant's reply)

Roles are system (first, at most once), user, assistant and tool. An assistant
message may call the calculator, in OpenAI's form, and the tool's answer follows
as a "tool" message:

    {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
        "function": {"name": "calculator", "arguments": {"expression": "12*34"}}}]}
    {"role": "tool", "content": "408"}

("arguments" may also be a JSON string, as OpenAI writes it.) check_conversation
returns the conversation in that normal form or raises BadConversation with the
reason; read_conversations reports every bad line with its number and reason
(not JSON, unknown role, empty conversation, no assistant turn, ...) and stops
before any training unless skip_bad_lines=True.
"""
import json

import numpy as np

from ..serialization import atomic_write

ROLES = ("system", "user", "assistant", "tool")
TOOLS = ("calculator",)
SHOWN_ERRORS = 5            # bad lines listed in the error; the count says how many more


class BadConversation(ValueError):
    """One conversation is malformed; the message is the reason."""


def calculator_call(expression):
    """The tool_calls entry of a call to the calculator (the normal form check_conversation returns)."""
    return {"type": "function", "function": {"name": "calculator", "arguments": {"expression": expression}}}


def check_conversation(record):
    """The messages of one JSONL record ({"messages": ...} or {"prompt", "completion"}), checked and normalised."""
    if not isinstance(record, dict):
        raise BadConversation(f"expected a JSON object, got a {type(record).__name__}")
    if "messages" in record:
        messages = record["messages"]
    elif "prompt" in record and "completion" in record:
        messages = [{"role": "user", "content": record["prompt"]},
                    {"role": "assistant", "content": record["completion"]}]
    else:
        raise BadConversation(f"expected a \"messages\" list or \"prompt\" and \"completion\", "
                              f"got keys {sorted(record)}")
    if not isinstance(messages, list) or not messages:
        raise BadConversation("empty conversation (\"messages\" must be a non-empty list)")
    out = [_check_message(message, i) for i, message in enumerate(messages)]
    _check_order(out)
    return out


def _check_message(message, i):
    if not isinstance(message, dict) or "role" not in message:
        raise BadConversation(f"message {i} must be an object with a \"role\" and a \"content\"")
    role = message["role"]
    if role not in ROLES:
        raise BadConversation(f"message {i} has unknown role {role!r} (expected one of {', '.join(ROLES)})")
    content = message.get("content")
    calls = message.get("tool_calls") or []
    if content is None and calls and role == "assistant":
        content = ""
    if not isinstance(content, str):
        raise BadConversation(f"message {i} ({role}) has no text \"content\" (got {type(content).__name__})")
    out = {"role": role, "content": content}
    if calls:
        if role != "assistant":
            raise BadConversation(f"message {i} ({role}) has tool_calls; only an assistant calls tools")
        out["tool_calls"] = [calculator_call(_expression(call, i)) for call in calls]
    return out


def _expression(call, i):
    """The calculator expression of one tool call (arguments an object or a JSON string)."""
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or function.get("name") not in TOOLS:
        raise BadConversation(f"message {i} calls an unknown tool (the tool is {TOOLS[0]!r}, "
                              "as {\"function\": {\"name\": \"calculator\", \"arguments\": {\"expression\": ...}}})")
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            raise BadConversation(f"message {i}: the calculator's arguments are not JSON: {arguments!r}") from None
    if not isinstance(arguments, dict) or not isinstance(arguments.get("expression"), str):
        raise BadConversation(f"message {i}: the calculator takes {{\"expression\": \"12*34\"}}, got {arguments!r}")
    return arguments["expression"]


def _check_order(messages):
    roles = [m["role"] for m in messages]
    if "system" in roles[1:]:
        raise BadConversation("a system message must come first, and only once")
    if "assistant" not in roles:
        raise BadConversation("no assistant turn (nothing to learn from)")
    for i, message in enumerate(messages):
        if message["role"] == "tool" and (i == 0 or not messages[i - 1].get("tool_calls")):
            raise BadConversation(f"message {i} (tool) does not follow an assistant message with tool_calls")
        if message.get("tool_calls") and (i + 1 == len(messages) or messages[i + 1]["role"] != "tool"):
            raise BadConversation(f"message {i} calls a tool, but no tool message with its output follows")


def parse_lines(lines, source="<conversations>"):
    """(conversations, [(line number, reason)]) of JSONL lines; blank lines are skipped."""
    good, bad = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            good.append(check_conversation(json.loads(line)))
        except json.JSONDecodeError as error:
            bad.append((number, f"not JSON ({error.msg} at column {error.colno})"))
        except BadConversation as error:
            bad.append((number, str(error)))
    return good, bad


def read_conversations(path, skip_bad_lines=False, report=print):
    """The conversations of a JSONL file. Bad lines stop here, before any training, naming each
    (line number and reason) and the count of good and bad lines; skip_bad_lines keeps the good ones."""
    with open(path, encoding="utf-8") as f:
        try:
            good, bad = parse_lines(f, path)
        except UnicodeDecodeError as error:
            raise ValueError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); "
                             "a conversations file is JSONL in UTF-8") from None
    if bad:
        listed = "; ".join(f"line {n}: {reason}" for n, reason in bad[:SHOWN_ERRORS])
        more = f"; and {len(bad) - SHOWN_ERRORS} more" if len(bad) > SHOWN_ERRORS else ""
        summary = f"{path}: {len(good)} good and {len(bad)} bad lines ({listed}{more})"
        if not skip_bad_lines or not good:
            raise ValueError(f"{summary}; fix them, or pass --skip-bad-lines to train on the good ones")
        report(f"{summary}; skipping the bad lines")
    if not good:
        raise ValueError(f"{path} holds no conversation; expected JSONL lines like "
                         '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}')
    return good


def split_conversations(conversations, val_fraction, seed):
    """(train, val): whole conversations, shuffled with seed; val has at least one unless there is one in all."""
    order = np.random.default_rng(seed).permutation(len(conversations))
    n_val = max(1, round(len(conversations) * val_fraction)) if len(conversations) > 1 else 0
    return [conversations[i] for i in order[n_val:]], [conversations[i] for i in order[:n_val]]


def write_conversations(conversations, path):
    """Write conversations as JSONL (one {"messages": [...]} per line), atomically."""
    text = "".join(json.dumps({"messages": c}, ensure_ascii=False) + "\n" for c in conversations)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    atomic_write(path, write)
