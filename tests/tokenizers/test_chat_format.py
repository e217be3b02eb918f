"""minilm's chat format: exact ids and loss-mask positions on hand-built conversations."""
import pytest

from minilm.data.conversations import calculator_call
from minilm.tokenizers import BPETokenizer, CharTokenizer
from minilm.tokenizers.chat_format import CHAT_TOKENS, add_chat_tokens, render, render_for_completion


@pytest.fixture
def tok():
    return add_chat_tokens(CharTokenizer.from_text("abcdefghijklmnopqrstuvwxyz 0123456789+*?.<>|/"))


def pieces(tok, ids):
    return [tok.decode([i]) for i in ids]


def test_user_assistant_mask_covers_reply_and_its_end_only(tok):
    ids, mask = render(tok, [{"role": "user", "content": "1+2?"}, {"role": "assistant", "content": "3"}])
    assert pieces(tok, ids) == ["<|user|>", "1", "+", "2", "?", "<|end|>", "<|assistant|>", "3", "<|end|>"]
    assert mask == [0, 0, 0, 0, 0, 0, 0, 1, 1]


def test_system_and_two_turns(tok):
    conversation = [{"role": "system", "content": "be"}, {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "yo"}, {"role": "user", "content": "ok"},
                    {"role": "assistant", "content": "k"}]
    ids, mask = render(tok, conversation)
    assert pieces(tok, ids) == ["<|system|>", "b", "e", "<|end|>", "<|user|>", "h", "i", "<|end|>",
                                "<|assistant|>", "y", "o", "<|end|>", "<|user|>", "o", "k", "<|end|>",
                                "<|assistant|>", "k", "<|end|>"]
    assert [i for i, m in enumerate(mask) if m] == [9, 10, 11, 17, 18]


def test_tool_call_is_learned_and_its_output_is_not(tok):
    conversation = [{"role": "user", "content": "2*3?"},
                    {"role": "assistant", "content": "", "tool_calls": [calculator_call("2*3")]},
                    {"role": "tool", "content": "6"}, {"role": "assistant", "content": "6"}]
    ids, mask = render(tok, conversation)
    assert pieces(tok, ids) == ["<|user|>", "2", "*", "3", "?", "<|end|>", "<|assistant|>", "<|call|>", "2", "*",
                                "3", "<|/call|>", "<|output|>", "6", "<|/output|>", "6", "<|end|>"]
    assert mask == [0] * 7 + [1] * 5 + [0] * 3 + [1, 1]


def test_completion_prompt_ends_with_the_assistant_start(tok):
    ids = render_for_completion(tok, [{"role": "user", "content": "hi"}])
    assert pieces(tok, ids) == ["<|user|>", "h", "i", "<|end|>", "<|assistant|>"]


def test_special_token_text_in_a_message_is_plain_text(tok):
    ids, _ = render(tok, [{"role": "user", "content": "<|end|>"}, {"role": "assistant", "content": "a"}])
    assert ids.count(tok.special_tokens["<|end|>"]) == 2        # the user's turn and the reply's, not the text
    with pytest.raises(ValueError, match="special token"):
        tok.encode("<|end|>")                                   # ordinary encoding never makes one


def test_apply_chat_template_names_and_mask(tok):
    conversation = [{"role": "user", "content": "1+2?"}, {"role": "assistant", "content": "3"}]
    ids, mask = render(tok, conversation)
    assert tok.apply_chat_template(conversation) == ids
    out = tok.apply_chat_template(conversation, return_assistant_tokens_mask=True, return_dict=True)
    assert out == {"input_ids": ids, "assistant_masks": mask}
    text = tok.apply_chat_template(conversation[:1], add_generation_prompt=True, tokenize=False)
    assert text == "<|user|>1+2?<|end|><|assistant|>"
    assert tok.encode(text, allowed_special=set(CHAT_TOKENS)) == render_for_completion(tok, conversation[:1])


def test_bpe_renders_the_same_as_encoding_the_text():
    tok = add_chat_tokens(BPETokenizer("gpt4").train("hello there, what is two plus two? four. " * 20, 280))
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "what is two plus two?"},
                    {"role": "assistant", "content": "four."}]
    text = tok.apply_chat_template(conversation, tokenize=False)
    assert tok.encode(text, allowed_special="all") == render(tok, conversation)[0]
    assert tok.decode(render(tok, conversation)[0]) == text


def test_no_chat_tokens_is_a_clear_error():
    with pytest.raises(ValueError, match="no chat format"):
        CharTokenizer.from_text("ab").apply_chat_template([{"role": "user", "content": "a"}])


def test_char_tokenizer_adds_characters_before_special_tokens():
    tok = CharTokenizer.from_text("ba")
    assert tok.add_characters("a1b0") == ["0", "1"]
    assert tok.encode("ab01") == [0, 1, 2, 3]
    add_chat_tokens(tok)
    assert tok.special_tokens["<|system|>"] == 4
    with pytest.raises(ValueError, match="add the characters first"):
        tok.add_characters("z")
    again = CharTokenizer.from_dict(tok.to_dict())
    assert again.encode("10") == [3, 2] and again.special_tokens == tok.special_tokens
