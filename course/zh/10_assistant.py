# %% [markdown]
# # 第 10 课：从基础模型到助手
#
# **本课内容**
#
# - 对话格式：把一段对话变成词元 id，以及损失掩码——它标出模型要学会写出的是哪些词元；
# - 工具：助手调用的计算器，以及如何安全地求值；
# - 监督微调（SFT）：把对话打包成行，损失只算在助手的词元上；
# - 基于可验证奖励的强化学习（GRPO）：对一个提示采样一组回答，逐一打分，再按每个回答在组内的优势把它的概率调高或调低；
# - 推理服务：连续批处理（continuous batching），请求在两个解码步之间加入或离开同一个正在运行的批次。
#
# **练习**（在 `course/exercises/10_assistant.py` 中完成；运行 `minilm course check 10`）：
# 1. `loss_mask`：渲染后的对话中，哪些词元是助手要学会写出的。
# 2. `group_advantages`：GRPO 对一组奖励计算的优势。
# 3. `held_back`：流式输出的文本中，末尾有多少字符因为还可能变成停止串而必须暂缓发送。

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
# ## 1. 对话格式及其损失掩码
#
# 基础模型只会续写文本。助手要按轮次作答，所以轮次必须在词元中看得见：
# [`render`](../../minilm/tokenizers/chat_format.py#L77-L83) 用特殊词元（`<|user|>...<|end|>`）包住每条消息，
# 而对普通文本编码永远不会产生这些特殊词元。因此用户输入 `<|end|>` 时，得到的是七个普通字符，而不是一轮的结束。
# 自带的算术任务用代码生成对话（[`ChatTask.conversation`](../../minilm/data/tasks/task.py#L80-L88)）；乘法题会调用计算器。
#
# 同一个函数还返回**损失掩码**：模型将来要自己写出的词元为 1（助手的文本、它的工具调用，以及结束这一轮的
# `<|end|>`，这样模型才学得会停下来）；系统消息和用户消息、`<|assistant|>` 本身（由提示放在那里）以及工具的输出
# （由推理引擎写入）都为 0。如果在用户的轮次上也计算损失，模型就会学着去写问题。

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
# ### 练习 1：`loss_mask(tokenizer, conversation)`
#
# 不调用 `render`，返回与它相同的 0/1 列表：逐条遍历消息，数出每一段的词元个数（普通文本为
# `len(tokenizer.encode_ordinary(text))`，一个特殊词元算一个），并标出助手写的那些。注意工具调用：带有
# `tool_calls` 的助手消息在正文之后写出 `<|call|>表达式<|/call|>`，并且不结束这一轮；工具的回复写成
# `<|output|>结果<|/output|>`；接下来的助手消息延续同一轮，不再写第二个 `<|assistant|>`。

# %%
check(10, only="loss_mask")

# %% [markdown]
# ## 2. 工具：计算器
#
# 小模型做加法做得好（每一位只取决于两个数字和一个进位），做乘法却做得差（乘积的每一位都取决于两个因数的全部数字）。
# 所以它学会调用工具：把表达式写在 `<|call|>` 和 `<|/call|>` 之间，由解码循环把结果写回去。这段文本来自模型，
# 因此绝不能交给 Python 的 `eval`：[`evaluate`](../../minilm/chat/calculator.py#L47-L58) 用 `ast` 解析它，
# 只遍历由数字和算术运算符组成的白名单，并设有限制，保证每次求值的代价都很小。它出错时返回一个错误字符串，
# 从不抛出异常：模型读到错误信息，就像读到一个结果一样。

# %%
for expression in ["47*86", "7/2", "(3+4)**2", "9**99", "__import__('os').system('ls')"]:
    print(f"{expression:32s} -> {calculate(expression)}")

# %% [markdown]
# ## 3. 监督微调
#
# SFT 就是在对话上做下一个词元预测的训练，只有两处不同。
# [`PackedConversations`](../../minilm/train/sft.py#L79-L116) 把完整的对话打包进长度为 `block_size + 1`
# 的行中（最佳适配，剩余部分填充），这样计算不会浪费在填充上；所有掩码为 0 的词元，其目标都换成 -100，即交叉熵的
# `ignore_index`，于是损失
#
# $$\mathcal{L} = -\frac{1}{\sum_t m_t}\sum_t m_t \log p_\theta(x_{t+1} \mid x_{\le t})$$
#
# 只在助手的词元上求平均。`minilm sft --init-from out` 从一个预训练好的模型出发，运行 `minilm train`
# 的训练循环（检查点、断点续训、日志）；这里用一个简单的循环，让一个很小的 GPT 从零开始学会这个任务的两类题目
# （按竖式逐列计算两位数加法，如 `7+6+0=13 4+8+1=13: 133`，以及借助计算器做乘法）。
#
# 打包之前先把对话打乱。如果按任务生成的顺序（加法、乘法、加法……）打包，每道乘法题在行中都落在同一个位置（紧跟在一道加法题之后），
# 而模型能看到绝对位置，就会学到“在行中靠后开始的一轮要调用计算器”这条捷径，而不是“看到 `*` 就调用计算器”：结果它把所有没见过的乘法题都当成加法来算。
# 打包不能往数据里加进任务本身没有的规律。

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
# ## 4. 强化学习：GRPO
#
# SFT 之后，模型的回答形式是对的；强化学习通过反复尝试，让它更常答对。对每个提示采样 $G$ 个回答
# （[`sample_group`](../../minilm/chat/group_sampling.py#L52-L81)），用一个可以由程序验证的奖励给每个回答打分
# （[`exact_match_reward`](../../minilm/train/rewards.py#L39-L45)：答案完全正确得 1），再给每个回答计算**相对于其所在组**的优势
# （[`group_advantages`](../../minilm/train/rl.py#L118-L122)）：
#
# $$A_i = \frac{r_i - \operatorname{mean}(r_1..r_G)}{\operatorname{std}(r_1..r_G) + \varepsilon}$$
#
# 组本身就是基线，因此不需要价值网络。如果一组的奖励全都相等（全对或全错），则 $A_i = 0$：它没有告诉模型怎样做得更好。
# 损失（[`policy_loss`](../../minilm/train/rl.py#L133-L155)）在一个批次的第一步上是
# $-\frac1N\sum_{i,t} A_i \log\pi_\theta(o_{i,t})$，只对采样出的词元求和（之后的轮次会像 PPO 那样裁剪概率比）：
# 比本组平均更好的回答概率变大，更差的变小。

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
# `minilm rl --init-from out-sft --task arithmetic` 在 `minilm train` 的训练循环中运行同样的算法，并带有裁剪、
# 可选的相对 SFT 模型的 KL 惩罚、断点续训和多进程；`benchmarks/rl.py` 用三个随机种子比较 SFT 与 RL。
#
# ### 练习 2：`group_advantages(rewards)`
#
# rewards 的形状是 (P, G)：P 个提示，每个提示 G 个回答。返回上式给出的 (P, G) 优势，标准差用总体标准差
# （`np.std` 的默认值），$\varepsilon = 10^{-4}$。

# %%
check(10, only="group_advantages")

# %% [markdown]
# ## 5. 推理服务：连续批处理
#
# 小模型的一个解码步要把每个权重读一遍，而对每个权重只做很少的计算，所以解码 16 行的代价只比解码 1 行多一点。
# 因此服务器应当把所有请求放在一起解码；可是请求到达的时间各不相同，需要的长度也各不相同。
# [`Engine`](../../minilm/serve/engine.py#L122-L137) 在自己的线程上运行一个循环：等待空闲行的请求的提示一起跑一遍
# （预填充，prefill），每个请求的键和值被复制到 [`BatchCache`](../../minilm/serve/batch_cache.py#L32-L37) 的一个空闲行中；
# 在那里每一行有自己的长度，并用掩码遮住其他行的位置。之后每一步把每个活跃行最新的词元 $(B, 1)$ 送入模型；
# 一行一旦完成就立即离开，它的位置由下一个请求接替。`minilm serve` 在它前面加上一个兼容 OpenAI 的 HTTP 服务器；
# 这里我们在同一个进程中直接调用它。

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
# 回答在生成的同时以流的形式发出，但有一个细节：**停止串**（比如 `"\n\n"`）永远不能被发送出去，而它却是一个词元一个词元地到来的。
# 因此 [`SampleText.add`](../../minilm/serve/engine.py#L88-L99) 会先扣住文本的末尾——只要它还可能是某个停止串的开头——
# 等到它不可能再变成停止串时才发送。
#
# ### 练习 3：`held_back(text, stops)`
#
# 给定目前为止的文本（其中不含停止串）和若干停止串，返回末尾有多少个字符必须等待：即 text 的某个结尾恰好是某个停止串的
# 开头（比整个停止串短）时，这种结尾的最大长度；没有则为 0。

# %%
check(10, only="held_back")

# %% [markdown]
# ## 小结
#
# - 对话格式用特殊词元标出轮次；它的损失掩码让 SFT 只学习助手的词元。
# - 工具就是模型写出、由程序作答的文本；它被解析，而绝不被 `eval`。
# - GRPO 不需要价值网络：每个回答只和自己所在的组比较，奖励全都相等的组什么也教不了。
# - 连续批处理让请求在两个解码步之间加入或离开同一个解码批次。
#
# 下一课（第 11 课）讲让这一切跑得飞快的 GPU。

# %%
check(10)
