"""minilm's chat format: a conversation as token ids, and which of them the model learns to write.

A conversation is a list of messages {"role": ..., "content": ...} (see
minilm/data/conversations.py, which checks them). Each turn is wrapped in
special tokens, which are never split and never produced by encoding ordinary
text (base.py), so a user who types "<|end|>" types seven characters, not a turn
boundary:

    <|system|>You answer briefly.<|end|>          (optional, first)
    <|user|>What is 12*34?<|end|>
    <|assistant|><|call|>12*34<|/call|><|output|>408<|/output|>408<|end|>

Rules (render):
  * a system, user or assistant message is START content <|end|>, START its role's token;
  * an assistant message with tool_calls writes each call as <|call|>expression<|/call|>
    after its content, and its turn is not closed: the tool message that follows is
    written as <|output|>result<|/output|>, and the next assistant message continues the
    same turn (no second <|assistant|>), exactly as decoding produces it;
  * the loss mask is 1 on the tokens the assistant writes: its content, its calls
    (<|call|> ... <|/call|>) and the <|end|> that closes its turn (so it learns to stop);
    0 on the system and user turns, on <|assistant|> itself (the prompt puts it there),
    and on the tool's output (the engine writes it, not the model).

render_for_completion(conversation) is the prompt for the next reply: the
conversation (its last message a user's) followed by <|assistant|>.

    >>> tok = add_chat_tokens(CharTokenizer.from_text("abc 0123456789+*?"))
    >>> ids, mask = render(tok, [{"role": "user", "content": "1+2?"}, {"role": "assistant", "content": "3"}])
    >>> [tok.decode([i]) for i in ids]
    ['<|user|>', '1', '+', '2', '?', '<|end|>', '<|assistant|>', '3', '<|end|>']
    >>> mask
    [0, 0, 0, 0, 0, 0, 0, 1, 1]

Tokenizer.apply_chat_template (base.py) gives the same with transformers' names.
"""
ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}
END, CALL, CALL_END, OUTPUT, OUTPUT_END = "<|end|>", "<|call|>", "<|/call|>", "<|output|>", "<|/output|>"
CHAT_TOKENS = (*ROLE_TOKENS.values(), END, CALL, CALL_END, OUTPUT, OUTPUT_END)


def add_chat_tokens(tokenizer):
    """The tokenizer with the chat format's special tokens (added where missing); returns it."""
    tokenizer.add_special_tokens(CHAT_TOKENS)
    return tokenizer


def has_chat_tokens(tokenizer):
    return all(token in tokenizer.special_tokens for token in CHAT_TOKENS)


def tool_expressions(message):
    """The calculator expressions of an assistant message's tool_calls (conversations.py's form)."""
    return [call["function"]["arguments"]["expression"] for call in message.get("tool_calls") or ()]


def render_pieces(conversation):
    """The conversation as [(text, is_special, learned)]: the one place that knows the format."""
    pieces, in_assistant_turn = [], False
    for message in conversation:
        role, content = message["role"], message.get("content") or ""
        if role == "tool":                                    # written by the engine: never learned
            pieces += [(OUTPUT, True, False), (content, False, False), (OUTPUT_END, True, False)]
            continue
        learned = role == "assistant"
        if not (learned and in_assistant_turn):               # (an assistant turn continues after a tool)
            pieces.append((ROLE_TOKENS[role], True, False))
        pieces.append((content, False, learned))
        calls = tool_expressions(message)
        for expression in calls:
            pieces += [(CALL, True, True), (expression, False, True), (CALL_END, True, True)]
        in_assistant_turn = learned and bool(calls)
        if not in_assistant_turn:
            pieces.append((END, True, learned))
    return pieces


def render(tokenizer, conversation):
    """(ids, loss_mask): the conversation's token ids and 1 where the model learns to write the token."""
    ids, mask = [], []
    for text, is_special, learned in render_pieces(conversation):
        new = [tokenizer.special_tokens[text]] if is_special else tokenizer.encode_ordinary(text)
        ids += new
        mask += [int(learned)] * len(new)
    return ids, mask


def render_for_completion(tokenizer, conversation):
    """The ids of the conversation followed by <|assistant|>: the prompt the model continues."""
    return render(tokenizer, conversation)[0] + [tokenizer.special_tokens[ROLE_TOKENS["assistant"]]]


def render_text(conversation, add_generation_prompt=False):
    """The conversation as text, special tokens written out (encode(text, allowed_special=CHAT_TOKENS)
    gives render's ids, unless a message's own text contains a special token's string)."""
    text = "".join(text for text, _, _ in render_pieces(conversation))
    return text + (ROLE_TOKENS["assistant"] if add_generation_prompt else "")
