"""Supervised fine-tuning (SFT): a pre-trained model learns to answer in the chat format.

SFT is `minilm train`'s Trainer (loop.py) with other data: the same training step,
checkpoints, exact resume, lock, signals, configuration rules, progress bar and log.
What changes is what a batch holds and where the loss looks:

    conversations: a JSONL file (data/conversations.py) and/or bundled tasks (data/tasks/)
    -> (ids, mask) per conversation        tokenizers/chat_format.py, or a Hugging Face folder's template
    -> packed into rows of block_size + 1 tokens, whole conversations only (each into the fullest
       of OPEN_ROWS rows being filled that it fits in: best fit), the rest of a row padded (mask 0);
       a conversation longer than a row is left out (and counted)
    -> x = row[:-1], y = row[1:], y = -100 where the mask of the target is 0

so the cross-entropy averages only over the tokens the assistant writes: the model is
not taught to write the user's questions. Packing keeps the rows full; a conversation
in a row attends to the ones before it in that row (no mask between them), which costs
little since each starts with its own turn tokens. A validation split is made by whole
conversations (a task's val items, or val_fraction of the file).

A base model whose tokenizer lacks the chat tokens (and, for a character tokenizer, the
characters of the data, e.g. digits) gets them added, with new embedding rows drawn
around the mean of the existing rows, with their spread (per coordinate). Around the
mean, a new token's logit starts near the average logit rather than far off, so the
loss does not start with a spike on it (Hewitt, 2021, "Initializing new word
embeddings"); with the full spread, new characters are as distinct from each other as
the old ones from the first step (with a tenth of it, ten new digits looked alike to
the model and arithmetic did not start to learn in 1,000 steps). With tied embeddings
the output rows are those same rows.

Each evaluation reports the masked loss on the val rows and, for each task, the
exact-match accuracy of greedy replies on eval_items of its val items
(chat/task_accuracy.py).
"""
import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from ..chat.task_accuracy import task_accuracy
from ..data.conversations import read_conversations, split_conversations
from ..data.tasks import get_task, task_names
from ..serialization import load
from ..tensor import Tensor
from ..tokenizers import CharTokenizer
from ..tokenizers.chat_format import END, add_chat_tokens, render
from ..tokenizers.chat_template import template_mask
from .checkpoint import checkpoint_folder
from .evaluation import IGNORE
from .loop import Trainer
from .run_log import print_once

EMBEDDING_KEYS = ("transformer.wte.weight", "lm_head.weight")
TASK_VAL_CONVERSATIONS = 300        # val conversations per task for the masked val loss
OPEN_ROWS = 16                      # rows being filled at once while packing (best fit among them)


@dataclass
class SFTOptions:
    data: str = ""                  # a conversations JSONL file
    task: str = ""                  # bundled tasks, comma-separated: train on their train items, validate on val
    task_size: int = 20000          # train conversations drawn from each task
    skip_bad_lines: bool = False    # train on the good lines of a file that has bad ones
    val_fraction: float = 0.05      # of the file's conversations, for the val loss
    eval_items: int = 50            # val items of each task answered at every evaluation (0: none)

    def __post_init__(self):
        if not self.data and not self.task:
            raise ValueError("nothing to fine-tune on: give --data chats.jsonl (conversations) or --task NAME")
        if self.task:
            task_names(self.task)
        for name, low in (("task_size", 1), ("eval_items", 0)):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {getattr(self, name)!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")


class PackedConversations:
    """Rendered conversations packed into rows of block_size + 1 tokens; batches as (x, y) like TokenDataset's."""

    def __init__(self, rendered, block_size, pad_id, what):
        width = block_size + 1
        open_rows, full, self.left_out = [], [], 0          # rows being filled: [ids, mask]
        for ids, mask in rendered:
            if len(ids) > width:
                self.left_out += 1
                continue
            fits = [row for row in open_rows if len(row[0]) + len(ids) <= width]
            if fits:                                        # best fit: the fullest row it fits in
                row = max(fits, key=lambda r: len(r[0]))
            else:
                if len(open_rows) == OPEN_ROWS:            # close the fullest to make room
                    open_rows.sort(key=lambda r: len(r[0]))
                    full.append(open_rows.pop())
                row = [[], []]
                open_rows.append(row)
            row[0] += ids
            row[1] += mask
        rows = full + open_rows
        if not rows:
            raise ValueError(f"no {what} conversation fits the context of {block_size} tokens (all "
                             f"{self.left_out} are longer); use shorter conversations")
        self.tokens = np.asarray([ids + [pad_id] * (width - len(ids)) for ids, _ in rows], dtype=np.int64)  # (N, T+1)
        self.mask = np.asarray([mask + [0] * (width - len(mask)) for _, mask in rows], dtype=bool)         # (N, T+1)

    def __len__(self):
        return len(self.tokens)

    def get_batch(self, batch_size, rng, device="cpu", rows=slice(None)):
        """x, y (B, T) from random rows; y is -100 where the target is not the assistant's. `rows`: as TokenDataset."""
        picks = rng.integers(0, len(self.tokens), size=batch_size)[rows]          # (B,)
        tokens, mask = self.tokens[picks], self.mask[picks]                       # (B, T+1)
        targets = np.where(mask[:, 1:], tokens[:, 1:], IGNORE)
        return Tensor(tokens[:, :-1], device=device), Tensor(targets, device=device)


def grown_embeddings(state, vocab_size, seed):
    """state with the embedding (and untied output) rows extended to vocab_size (the module docstring)."""
    state = dict(state)
    for key in EMBEDDING_KEYS:
        if key in state and state[key].shape[0] < vocab_size:
            rows = np.asarray(state[key])                                         # (V_old, C)
            rng = np.random.default_rng(seed)                 # the same rows for wte and a tied lm_head
            noise = rng.standard_normal((vocab_size - len(rows), rows.shape[1])) * rows.std(axis=0)
            state[key] = np.concatenate([rows, (rows.mean(axis=0) + noise).astype(rows.dtype)])   # (V, C)
    return state


class SFTTrainer(Trainer):
    command = "sft"

    def __init__(self, cfg, options, overwrite=False):
        self.options = options
        super().__init__(cfg, overwrite)

    # ---------------------------------------------------------------- data
    def load_data(self, cfg, tokenizer):
        o = self.options
        if cfg.model != "gpt":
            raise ValueError(f"minilm sft fine-tunes a GPT; {cfg.init_from or cfg.out_dir} holds a {cfg.model}")
        self.tasks = [get_task(name) for name in task_names(o.task)] if o.task else []
        train, val = self._conversations(cfg.seed)
        tokenizer = self._chat_tokenizer(tokenizer, train + val)
        if cfg.vocab_size:                                  # (a Hugging Face model's, maybe padded)
            cfg.vocab_size = max(cfg.vocab_size, tokenizer.vocab_size)
        order = np.random.default_rng(cfg.seed).permutation(len(train))            # tasks interleaved in rows
        pad = tokenizer.special_tokens.get(END, 0)
        train_rows = PackedConversations([self._render(tokenizer, train[i]) for i in order], cfg.block_size, pad,
                                         "train")
        val_rows = PackedConversations([self._render(tokenizer, c) for c in val], cfg.block_size, pad, "val") \
            if val else train_rows
        left_out = train_rows.left_out + (val_rows.left_out if val else 0)
        print_once(f"{len(train):,} train and {len(val):,} val conversations in {len(train_rows):,} + "
                   f"{len(val_rows) if val else 0:,} rows of {cfg.block_size + 1} tokens"
                   + (f"; {left_out} longer than that left out" if left_out else ""))
        self.eval_items = [(task, task.items("val", o.eval_items, cfg.seed)) for task in self.tasks if o.eval_items]
        return tokenizer, train_rows, val_rows

    def _conversations(self, seed):
        """(train, val) conversations: the file's, split by conversation, and each task's train and val items."""
        o = self.options
        train, val = [], []
        if o.data:
            train, val = split_conversations(read_conversations(o.data, o.skip_bad_lines, print_once),
                                             o.val_fraction, seed)
        for task in self.tasks:
            train += [task.conversation(item) for item in task.items("train", o.task_size, seed, distinct=False)]
            val += [task.conversation(item) for item in task.items("val", TASK_VAL_CONVERSATIONS, seed,
                                                                    distinct=False)]
        return train, val

    def _chat_tokenizer(self, tokenizer, conversations):
        """The tokenizer with what the conversations need: their characters (char level), the chat tokens."""
        text = "".join(m["content"] + "".join(c["function"]["arguments"]["expression"] for c in m.get("tool_calls", ()))
                       for conversation in conversations for m in conversation)
        text += "".join(task.alphabet() for task in self.tasks)          # (test items may hold other characters)
        if tokenizer is None:
            tokenizer = CharTokenizer.from_text(text)
        if isinstance(tokenizer, CharTokenizer):
            added = tokenizer.add_characters(text)
            if added:
                print_once(f"added {len(added)} characters to the vocabulary: {''.join(added)!r}")
        if getattr(tokenizer, "chat_template", None) is None:
            add_chat_tokens(tokenizer)
        return tokenizer

    def _render(self, tokenizer, conversation):
        template = getattr(tokenizer, "chat_template", None)
        return template_mask(template, tokenizer, conversation) if template is not None else render(tokenizer,
                                                                                                     conversation)

    # ---------------------------------------------------------------- weights, state, evaluation
    def load_pretrained_weights(self, cfg, pretrained):
        """The base model's weights, with rows for the tokens SFT added (the module docstring)."""
        if pretrained is not None:
            state = pretrained.state_dict()
        else:
            state = load(os.path.join(checkpoint_folder(cfg.init_from, "best"), "model.safetensors"))
        self.model.load_state_dict(grown_embeddings(state, self.model.config.vocab_size, cfg.seed))

    def _state(self):
        return {**super()._state(), "sft": dataclasses.asdict(self.options)}

    def estimate_loss(self):
        """The masked losses (Trainer's), and each task's exact-match accuracy on its val items."""
        out = super().estimate_loss()
        self.accuracy_lines = []
        for task, items in self.eval_items:
            scores = task_accuracy(self.model, self.tokenizer, task, items)
            out[f"val_accuracy_{task.name}"] = scores["all"]
            self.accuracy_lines.append(f"  {task.name}: val accuracy {scores['all']:.3f} (" + ", ".join(
                f"{kind} {value:.2f}" for kind, value in scores.items() if kind != "all") + ")")
        return out

    def evaluate_and_save(self, log):
        record = super().evaluate_and_save(log)
        for line in self.accuracy_lines:                 # under the loss line of the same evaluation
            print_once(line)
        return record
