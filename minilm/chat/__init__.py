"""minilm.chat: an assistant's reply with tool calls, and the calculator tool.

    from minilm.chat import generate_reply, calculate
    reply = generate_reply(model, tokenizer, [{"role": "user", "content": "What is 12*34?"}], temperature=0)
    reply.text, reply.messages

The chat format itself is minilm/tokenizers/chat_format.py (and chat_template.py for
Hugging Face folders); conversations files are minilm/data/conversations.py; the
bundled tasks minilm/data/tasks/; fine-tuning on them minilm/train/sft.py.
"""
from .calculator import CalculatorError, calculate, evaluate
from .reply import Reply, generate_reply, prompt_ids, stop_ids
from .task_accuracy import task_accuracy

__all__ = ["calculate", "evaluate", "CalculatorError", "generate_reply", "Reply", "prompt_ids", "stop_ids",
           "task_accuracy"]
