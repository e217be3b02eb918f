"""Hugging Face chat templates rendered as transformers does (fixtures: tests/fixtures/make_chat_fixtures.py)."""
import json
import os

import pytest

from minilm.tokenizers import BPETokenizer, tokenizer_from_dict
from minilm.tokenizers.chat_template import HuggingFaceTemplate, MINILM_TEMPLATE, render_template
from minilm.tokenizers.chat_format import render_text

pytest.importorskip("jinja2")
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "chat")
with open(os.path.join(FIXTURES, "expected.json"), encoding="utf-8") as f:
    EXPECTED = json.load(f)


@pytest.mark.parametrize("folder", ["chatml", "llama3", "zephyr", "minilm_export"])
def test_text_and_ids_are_transformers(folder):
    tok = BPETokenizer.from_pretrained(os.path.join(FIXTURES, folder))
    assert tok.chat_template is not None
    for case in EXPECTED[folder]:
        if "error" in case:
            with pytest.raises(ValueError, match=case["error"]):
                tok.apply_chat_template(case["messages"])
            continue
        generation = case["add_generation_prompt"]
        text = tok.apply_chat_template(case["messages"], add_generation_prompt=generation, tokenize=False)
        assert text == case["text"]
        assert tok.apply_chat_template(case["messages"], add_generation_prompt=generation) == case["ids"]


def test_the_exported_template_is_minilms_format():
    template = HuggingFaceTemplate(MINILM_TEMPLATE, {})
    for case in EXPECTED["minilm_export"]:
        assert template.render(case["messages"]) == render_text(case["messages"]) == case["text"]


def test_assistant_mask_by_prefixes_and_the_template_survives_a_checkpoint():
    tok = BPETokenizer.from_pretrained(os.path.join(FIXTURES, "chatml"))
    messages = EXPECTED["chatml"][1]["messages"]                        # system, user, assistant "Paris"
    out = tok.apply_chat_template(messages, return_assistant_tokens_mask=True)
    learned = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tok.decode(learned) == "Paris<|im_end|>\n"
    again = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.apply_chat_template(messages) == out["input_ids"]


def test_the_sandbox_refuses_to_reach_python():
    tok = BPETokenizer.from_pretrained(os.path.join(FIXTURES, "chatml"))
    for source in ["{{ messages.append(1) }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}"]:
        with pytest.raises(ValueError, match="chat template refused"):
            render_template(HuggingFaceTemplate(source, {}), tok, [{"role": "user", "content": "x"}])


def test_sft_from_a_folder_with_a_template_keeps_its_format(tmp_path):
    import shutil

    from minilm.cli import main
    from minilm.train.trained import load_trained
    folder = tmp_path / "hf"
    shutil.copytree(os.path.join(FIXTURES, "..", "hf", "gpt2"), folder)           # a 16-position GPT-2
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(FIXTURES, "zephyr", name), folder / name)
    chats = tmp_path / "chats.jsonl"
    chats.write_text("".join(json.dumps({"messages": [{"role": "user", "content": w},
                                                      {"role": "assistant", "content": "yes"}]}) + "\n"
                             for w in ["Hi", "Hello", "Paris", "you"]))
    out = str(tmp_path / "sft")
    assert main(["sft", "--init-from", str(folder), "--data", str(chats), "--out_dir", out, "--max_iters", "2",
                 "--batch_size", "2", "--eval_iters", "1", "--progress", "false"]) == 0
    model, tok, cfg, _ = load_trained(out)
    assert tok.chat_template is not None and "<|end|>" not in tok.special_tokens     # no chat tokens added
    assert model.config.vocab_size == 400
