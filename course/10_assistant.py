# %% [markdown]
# # Lesson 10: From base model to assistant
#
# **What you will learn**
#
# - the chat format: a conversation as token ids, and the loss mask that says which of them the model learns to write;
# - a tool: the calculator the assistant calls, evaluated safely;
# - supervised fine-tuning (SFT): conversations packed into rows, the loss on the assistant's tokens only;
# - reinforcement learning with verifiable rewards (GRPO): sample a group of replies, score them, and push
#   each reply up or down by its advantage within its group;
# - serving: continuous batching, where requests join and leave one running batch between decoding steps.
#
# **Exercises** (in `course/exercises/10_assistant.py`; `minilm course check 10`):
# 1. `loss_mask`: which tokens of a rendered conversation the assistant learns to write.
# 2. `group_advantages`: GRPO's advantages of a group of rewards.
# 3. `held_back`: how much of a streamed text must wait because it may still become a stop string.

# %%
import threading

import matplotlib.pyplot as plt
import numpy as np

import minilm
from minilm.chat.calculator import calculate
from minilm.chat.group_sampling import sample_group
from minilm.chat.reply import generate_reply, prompt_ids, stop_ids
from minilm.course import DEVICE, FAST, check, show
from minilm.data.tasks import get_task
from minilm.models import GPT, GPTConfig
from minilm.serve.engine import Engine, Request
from minilm.tokenizers import CharTokenizer
from minilm.tokenizers.chat_format import END, add_chat_tokens, render, render_text
from minilm.train import sequence_cross_entropy
from minilm.train.rewards import reward_function
from minilm.train.rl import group_advantages, policy_loss, token_log_probs
from minilm.train.sft import PackedConversations

task = get_task("arithmetic")
tokenizer = add_chat_tokens(CharTokenizer.from_text(task.alphabet()))
print(f"{tokenizer.vocab_size} tokens; the chat format's special ones: {' '.join(tokenizer.special_tokens)}")

# %% [markdown]
# ## 1. The chat format and its loss mask
#
# A base model continues text. An assistant answers in turns, so the turns must be visible in the tokens:
# [`render`](../minilm/tokenizers/chat_format.py#L77-L83) wraps each message in special tokens
# (`<|user|>...<|end|>`) that encoding ordinary text never produces, so a user who types `<|end|>` types
# seven characters, not the end of a turn. The bundled arithmetic task makes its conversations by code
# ([`ChatTask.conversation`](../minilm/data/tasks/task.py#L80-L88)); a multiplication calls the calculator.
#
# The same function returns the **loss mask**: 1 on the tokens the model will have to write (the
# assistant's text, its calls, and the `<|end|>` that closes its turn, so that it learns to stop), 0 on
# the system and user turns, on `<|assistant|>` itself (the prompt puts it there) and on the tool's output
# (the engine writes it). Training on the user's turns would teach the model to write questions.

# %%
item = task.items("train", 4, seed=0, kinds=("mul2",))[0]
conversation = task.conversation(item)
print(render_text(conversation))
ids, mask = render(tokenizer, conversation)
pieces = [tokenizer.decode([i]) for i in ids]
print(f"{len(ids)} tokens, {sum(mask)} of them learned")

fig, ax = plt.subplots(figsize=(11, 2.2))
per_row = 14
for n, (piece, learned) in enumerate(zip(pieces, mask)):
    x, y = n % per_row, -(n // per_row)
    special = piece.startswith("<|")
    ax.add_patch(plt.Rectangle((x, y), 0.95, 0.9, color="tab:green" if learned else "lightgray"))
    ax.text(x + 0.47, y + 0.45, piece.strip("<|>") if special else repr(piece)[1:-1],
            ha="center", va="center", fontsize=6.5 if special else 9, fontweight="bold" if special else None)
ax.set_xlim(0, per_row)
ax.set_ylim(-(len(ids) // per_row), 1)
ax.axis("off")
ax.set_title("a rendered conversation: green = in the loss (the assistant writes it), gray = read only")
show(fig, "10_loss_mask")

# %% [markdown]
# ### Exercise 1: `loss_mask(tokenizer, conversation)`
#
# Return the 0/1 list `render` returns, without calling it: walk the messages, count each piece's tokens
# (`len(tokenizer.encode_ordinary(text))`, a special token is one) and mark the ones the assistant writes.
# Mind the tool call: an assistant message with `tool_calls` writes `<|call|>expression<|/call|>` after its
# content and leaves its turn open; the tool's reply is `<|output|>result<|/output|>`; the next assistant
# message continues the same turn, with no second `<|assistant|>`.

# %%
check(10, only="loss_mask")

# %% [markdown]
# ## 2. A tool: the calculator
#
# A small model adds well (each digit depends on two digits and a carry) and multiplies badly (each digit
# of a product depends on all the digits of both factors). So it learns to call a tool: it writes the
# expression between `<|call|>` and `<|/call|>`, and the decoding loop writes the answer back. The text
# comes from a model, so it is never given to Python's `eval`:
# [`evaluate`](../minilm/chat/calculator.py#L47-L58) parses it with `ast` and walks a whitelist of numbers
# and arithmetic operators, with limits that keep every answer cheap. It returns an error string, never
# an exception: the model reads the error as it would read a result.

# %%
for expression in ["47*86", "7/2", "(3+4)**2", "9**99", "__import__('os').system('ls')"]:
    print(f"{expression:32s} -> {calculate(expression)}")

# %% [markdown]
# ## 3. Supervised fine-tuning
#
# SFT is next-token training on conversations, with two changes.
# [`PackedConversations`](../minilm/train/sft.py#L79-L116) packs whole conversations into rows of
# `block_size + 1` tokens (best fit, the rest padded), so no compute is spent on padding; and the target
# of every token whose mask is 0 becomes -100, the `ignore_index` of cross-entropy, so the loss
#
# $$\mathcal{L} = -\frac{1}{\sum_t m_t}\sum_t m_t \log p_\theta(x_{t+1} \mid x_{\le t})$$
#
# averages over the assistant's tokens only. `minilm sft --init-from out` starts from a pre-trained
# model and runs `minilm train`'s loop (checkpoints, resume, logs); here a tiny GPT learns two kinds of
# the task (two-digit sums worked in columns, `7+6+0=13 4+8+1=13: 133`, and products through the
# calculator) from scratch, with a plain loop.
#
# The conversations are shuffled before packing. In the order the task makes them (a sum, a product, a sum,
# ...) every product lands at the same place in its row, after a sum, and a model that sees absolute
# positions learns the shortcut "a turn that starts late in the row calls the calculator" instead of "a `*`
# calls it": it then answers every held-out product as a sum. Packing must not put a pattern in the data
# that the task lacks.

# %%
kinds = ("add2", "mul2")
items = task.items("train", 4000, seed=0, kinds=kinds)                   # add2, mul2, add2, mul2, ...
order = np.random.default_rng(0).permutation(len(items))                  # (see above)
rendered = [render(tokenizer, task.conversation(items[i])) for i in order]
packed = PackedConversations(rendered, block_size=64, pad_id=tokenizer.special_tokens[END], what="train")
print(f"{len(rendered)} conversations packed into {len(packed)} rows of 65 tokens; "
      f"{packed.mask.mean():.0%} of the tokens are in the loss")

minilm.manual_seed(0)
model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64,
                      dropout=0.0)).to(DEVICE)
optimizer = model.configure_optimizers(0.0, 3e-3, (0.9, 0.99))
rng = np.random.default_rng(0)
sft_steps = 20 if FAST else 1200
for step in range(sft_steps):
    x, y = packed.get_batch(32, rng, device=DEVICE)
    logits, _ = model(x)
    loss = sequence_cross_entropy(logits, y)                  # y is -100 where the mask is 0
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 500 == 0 or step == sft_steps - 1:
        print(f"step {step}: loss on the assistant's tokens {loss.item():.3f}")


def accuracy(items):
    """Exact match of greedy replies (the calculator answering calls), as `minilm eval --task` measures it."""
    return np.mean([task.reward(i, generate_reply(model, tokenizer, task.prompt(i), 24).text) for i in items])


val = task.items("val", 10 if FAST else 60, seed=0, kinds=kinds)
reply = generate_reply(model, tokenizer, task.prompt(val[1]), 24)
print(f"{val[1].prompt} -> {reply.text!r} (expected {val[1].answer})")
print(f"exact match on {len(val)} held-out questions after SFT: {accuracy(val):.0%}")

# %% [markdown]
# ## 4. Reinforcement learning: GRPO
#
# After SFT the model answers in the right shape; RL makes it answer right more often, by trying. For each
# prompt, sample $G$ replies ([`sample_group`](../minilm/chat/group_sampling.py#L52-L81)), score each with a
# reward that a program can verify ([`exact_match_reward`](../minilm/train/rewards.py#L39-L45): 1 for the
# exact answer), and give each reply its advantage **relative to its group**
# ([`group_advantages`](../minilm/train/rl.py#L118-L122)):
#
# $$A_i = \frac{r_i - \operatorname{mean}(r_1..r_G)}{\operatorname{std}(r_1..r_G) + \varepsilon}$$
#
# The group is the baseline, so no value network is needed. A group whose rewards are all equal (all right,
# or all wrong) has $A_i = 0$: it says nothing about what to do better. The loss
# ([`policy_loss`](../minilm/train/rl.py#L133-L155)) is $-\frac1N\sum_{i,t} A_i \log\pi_\theta(o_{i,t})$
# over the sampled tokens only (at the first step on a batch; later epochs clip the probability ratio, as PPO
# does): a reply better than its group becomes more likely, a worse one less.

# %%
reward = reward_function("arithmetic")
rl_optimizer = model.configure_optimizers(0.0, 3e-4, (0.9, 0.99))
train_items = task.items("train", 400, seed=1, kinds=kinds)
mean_rewards = []
for step in range(1 if FAST else 40):
    rewards, losses = [], []
    for n, item in enumerate(train_items[4 * step:4 * step + 4]):      # 4 prompts x 8 replies a step
        group = sample_group(model, tokenizer, task.prompt(item), G=8, temperature=1.0,
                             rng=np.random.default_rng([step, n]), max_new_tokens=24)
        r = np.array([reward(item, text) for text in group.texts])
        rewards.append(r)
        if r.std() == 0:                                           # equal rewards: A = 0, nothing to learn
            continue
        A = group_advantages(r[None])[0]                                      # (G,)
        logp = token_log_probs(model, group.ids, group.learned)               # (G, L)
        loss, _ = policy_loss(logp, group.learned[:, 1:], A)
        rl_optimizer.zero_grad()
        loss.backward()
        rl_optimizer.step()
    mean_rewards.append(np.mean(rewards))
    if step % 10 == 0:
        shown = next((r for r in rewards if r.std() > 0), rewards[-1])    # a group with a signal, if any
        print(f"step {step}: rewards of a group {shown}, advantages {np.round(group_advantages(shown[None])[0], 2)}")
per_ten = [np.mean(mean_rewards[i:i + 10]) for i in range(0, len(mean_rewards), 10)]
print(f"mean reward of the sampled replies, per 10 steps: {np.round(per_ten, 2)}")
print(f"exact match on the same held-out questions after RL: {accuracy(val):.0%}")

# %% [markdown]
# `minilm rl --init-from out-sft --task arithmetic` runs this in `minilm train`'s loop, with the clip, an
# optional KL penalty to the SFT model, resume and several processes; `benchmarks/rl.py` compares SFT and
# RL over three seeds.
#
# ### Exercise 2: `group_advantages(rewards)`
#
# rewards is (P, G): P prompts, G replies each. Return the (P, G) advantages above, with the population
# standard deviation (`np.std`'s default) and $\varepsilon = 10^{-4}$.

# %%
check(10, only="group_advantages")

# %% [markdown]
# ## 5. Serving: continuous batching
#
# One decoding step of a small model reads every weight once and does little arithmetic per weight, so
# decoding 16 rows costs little more than decoding one. A server should therefore decode all its requests
# together; but they arrive at different times and want different lengths. The
# [`Engine`](../minilm/serve/engine.py#L122-L137) runs one loop on a thread of its own: the prompts of the
# requests waiting for rows are run together (their prefill), each one's keys and values copied into a free row of a
# [`BatchCache`](../minilm/serve/batch_cache.py#L32-L37), where every row has its own length and a mask
# hides the others' positions; then each step feeds every active row's newest token, $(B, 1)$, and a row
# that finishes leaves at once, its place taken by the next request. `minilm serve` puts an
# OpenAI-compatible HTTP server in front of it; here we call it in the same process.

# %%
engine = Engine(model, tokenizer, max_batch=4).start()
questions = task.items("test", 6, seed=0, kinds=kinds)
replies, finished = {}, threading.Semaphore(0)


def emit_into(n):
    def emit(index, text, reason):                 # called by the engine's loop as text is made
        replies[n] = replies.get(n, "") + text
        if reason:
            finished.release()
    return emit


for n, question in enumerate(questions):           # 6 requests, 4 rows: two wait for a free row
    engine.submit(Request(prompt_ids(tokenizer, task.prompt(question)), max_tokens=24, temperature=0.0,
                          stop_ids=frozenset(stop_ids(tokenizer)), tools=True, emit=emit_into(n)))
for _ in questions:
    finished.acquire(timeout=60)
print(engine.metrics())
engine.stop()
for n, question in enumerate(questions):
    print(f"{question.prompt:18s} -> {replies.get(n, '')!r:28s} (expected {question.answer})")

# %% [markdown]
# A reply streams out as it is made, with one subtlety: a **stop string** (say `"\n\n"`) must never be sent,
# but it arrives one token at a time. [`SampleText.add`](../minilm/serve/engine.py#L88-L99) therefore holds
# back the end of the text while it may still be the start of a stop string, and sends it once it cannot.
#
# ### Exercise 3: `held_back(text, stops)`
#
# Given the text so far (which contains no stop string) and the stop strings, return how many characters
# at its end must wait: the length of the longest end of text that is the beginning (shorter than the
# whole) of some stop string; 0 if none.

# %%
check(10, only="held_back")

# %% [markdown]
# ## Summary
#
# - The chat format marks turns with special tokens; its loss mask keeps SFT on the assistant's tokens.
# - A tool is text the model writes and a program answers; it is parsed, never `eval`'d.
# - GRPO needs no value network: each reply is compared with its own group, and equal rewards teach nothing.
# - Continuous batching lets requests join and leave one decoding batch between steps.
#
# Next, lesson 11 looks at the GPU that makes all of this fast.

# %%
check(10)
