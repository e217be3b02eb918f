"""GRPO (minilm/train/rl.py): the surrogate's gradient, advantages, masks, a bandit, rewards, sampling, resume."""
import importlib.util

import numpy as np
import pytest

from minilm.chat import generate_reply
from minilm.chat.group_sampling import sample_group
from minilm.cli import main
from minilm.data.tasks import Item, get_task
from minilm.gradcheck import gradcheck
from minilm.models.sampling import sample_next
from minilm.nn import Embedding, Module, Parameter
from minilm.optim import SGD
from minilm.tensor import Tensor
from minilm.tokenizers import CharTokenizer
from minilm.tokenizers.chat_format import CALL, CALL_END, END, OUTPUT, OUTPUT_END, add_chat_tokens
from minilm.train.rewards import reward_function
from minilm.train.rl import group_advantages, policy_loss, token_log_probs
from minilm.train.trained import load_trained


class Bigram(Module):
    """logits of the next token = a row of a table picked by the current token: grad log p is known by hand."""

    def __init__(self, V, seed=0):
        super().__init__()
        self.table = Embedding(V, V).to(dtype=np.float64)
        self.table.weight.data = np.random.default_rng(seed).standard_normal((V, V))

    def forward(self, idx):
        return self.table(idx), None                                     # (B, T, V)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ---------------------------------------------------------------- the algorithm
def test_surrogate_gradient_is_the_hand_derived_reinforce_gradient():
    """d loss / dW = -1/N sum_i A_i sum_t (onehot(o_t) - softmax(W[prev])) at row prev (float64)."""
    V, rng = 6, np.random.default_rng(1)
    model = Bigram(V)
    ids = rng.integers(0, V, size=(3, 7))                                 # fixed samples (B, L+1)
    learned = np.zeros(ids.shape, dtype=bool)
    learned[:, 3:] = True                                                 # a prompt of 3 tokens
    learned[2, 6] = False                                                 # and a padded end
    A = np.array([1.5, -0.5, -1.0])
    loss, _ = policy_loss(token_log_probs(model, ids, learned), learned[:, 1:], A)
    loss.backward()
    W, expected, N = model.table.weight.data, np.zeros((V, V)), learned[:, 1:].sum()
    for i in range(3):
        for t in range(1, ids.shape[1]):
            if learned[i, t]:
                prev = ids[i, t - 1]
                expected[prev] -= A[i] / N * (np.eye(V)[ids[i, t]] - softmax(W[prev]))
    np.testing.assert_allclose(model.table.weight.grad, expected, atol=1e-12)


def test_clipped_surrogate_passes_gradcheck_away_from_the_sampler():
    """With pi_old fixed and pi_theta moved (ratios in and out of the clip range), backward = central differences."""
    rng = np.random.default_rng(2)
    mask = rng.random((3, 5)) < 0.7
    old = np.log(rng.uniform(0.1, 0.9, (3, 5)))
    ref = np.log(rng.uniform(0.1, 0.9, (3, 5)))
    A = np.array([1.0, -0.7, 0.3])
    logp = Tensor(old + rng.choice([-0.5, -0.05, 0.05, 0.5], size=(3, 5)), requires_grad=True)
    assert gradcheck(lambda lp: policy_loss(lp, mask, A, old, ref, clip=0.2, kl_coef=0.3)[0], [logp])


def test_equal_rewards_give_zero_advantage():
    A = group_advantages([[1, 1, 1, 1], [0, 0, 0, 0], [0.1, 0.1, 0.1, 0.1], [1, 0, 0, 0]])
    assert np.array_equal(A[:3], np.zeros((3, 4)))                         # exactly zero: skipped
    np.testing.assert_allclose(A[3], np.array([3, -1, -1, -1]) / np.sqrt(3), rtol=1e-3)
    assert abs(A[3].mean()) < 1e-12


def test_masked_tokens_contribute_nothing():
    V, rng = 5, np.random.default_rng(3)
    ids = rng.integers(0, V, size=(2, 8))
    learned = np.zeros(ids.shape, dtype=bool)
    learned[:, 2:5] = True                                                # prompt, 3 sampled, then tool/pad
    A = np.array([1.0, -1.0])

    def loss_and_grad(ids):
        model = Bigram(V)
        logp = token_log_probs(model, ids, learned)
        loss, _ = policy_loss(logp, learned[:, 1:], A)
        loss.backward()
        return loss.item(), model.table.weight.grad.copy()
    changed = ids.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % V                              # other tokens after the last learned one
    (loss1, grad1), (loss2, grad2) = loss_and_grad(ids), loss_and_grad(changed)
    assert loss1 == loss2 and np.array_equal(grad1, grad2)
    logp = Tensor(rng.standard_normal((2, 7)), requires_grad=True)        # any log-probabilities where masked
    policy_loss(logp, learned[:, 1:], A, ref_logp=np.zeros((2, 7)), kl_coef=0.5)[0].backward()
    assert np.all(logp.grad[~learned[:, 1:]] == 0) and np.all(logp.grad[learned[:, 1:]] != 0)


def test_a_bandit_learns_the_rewarded_answer():
    """A one-step policy over 4 answers (tokens 1..4 after prompt 0), reward 1 for answer 3 only."""
    model, rng, G = Bigram(5, seed=4), np.random.default_rng(0), 8
    optimizer = SGD(model.parameters(), lr=0.5)
    first = softmax(model.table.weight.data[0])[3]
    for _ in range(60):
        answers = sample_next(np.tile(model.table.weight.data[0], (G, 1)), rng=rng)     # (G,)
        rewards = (answers == 3).astype(float)[None]                                     # (1, G)
        ids = np.stack([np.zeros(G, dtype=np.int64), answers], axis=1)                   # (G, 2)
        learned = np.array([[False, True]] * G)
        loss, _ = policy_loss(token_log_probs(model, ids, learned), learned[:, 1:], group_advantages(rewards)[0])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert first < 0.3 and softmax(model.table.weight.data[0])[3] > 0.9


# ---------------------------------------------------------------- rewards
ADD = Item("add3", "What is 457+386?", "843", "843")


@pytest.mark.parametrize("completion, reward", [
    ("843", 1.0), (" 843\n", 1.0),
    ("348", 0.1), ("-843", 0.1), ("0843", 0.1),                          # well-formed, wrong
    ("The answer is 843", 0.0), ("843 843", 0.0), ("843, 844", 0.0),      # extra text, several numbers
    ("457+386=843", 0.0), ("843.", 0.0), ("", 0.0),                        # the right number in the wrong place
    ("８４３", 0.0), ("٨٤٣", 0.0), ("84３", 0.0),                          # unicode digits: not the task's format
])
def test_arithmetic_reward_on_adversarial_completions(completion, reward):
    assert reward_function("arithmetic", format_reward=0.1)(ADD, completion) == reward


def test_rewards_of_the_other_tasks_and_purity():
    count = Item("count", "How many r's in 'strawberry'?", "st1awbe23y: 3", "3")
    spell = Item("spell", "Spell 'ab'.", "a-b", "a-b")
    speaker = Item("speaker", "Who says: 'x'?", "MENENIUS", "MENENIUS")
    r = reward_function("spelling", 0.2)
    assert [r(count, "st1awbe23y: 3"), r(count, "strawberry: 2"), r(count, "three"), r(count, "3 3")] == [1, 0.2, 0, 0]
    assert [r(spell, "a-b"), r(spell, "b-a"), r(spell, "ab")] == [1, 0.2, 0]
    s = reward_function("shakespeare", 0.2)
    assert [s(speaker, "MENENIUS"), s(speaker, "ROMEO"), s(speaker, "Menenius, I think")] == [1, 0.2, 0]
    before = repr(ADD)
    assert [reward_function("arithmetic")(ADD, "843") for _ in range(3)] == [1.0] * 3 and repr(ADD) == before
    with pytest.raises(ValueError, match="format_reward"):
        reward_function("arithmetic", 1.0)


# ---------------------------------------------------------------- batched sampling with tools
class Scripted(Module):
    """A 'model' that writes row g's script one token a step (a logit of 50 on it), whatever it is fed."""

    def __init__(self, scripts, V, prompt_length, block_size=64):
        super().__init__()
        self.scripts, self.V, self.start = scripts, V, prompt_length
        self.config = type("Config", (), {"block_size": block_size})()
        self.unused = Parameter(np.zeros(1))                              # (a Module's device is its parameters')

    def new_caches(self):
        return [type("Cache", (), {"length": 0})()]

    def forward(self, idx, caches=None):
        B, T = idx.shape
        caches[0].length += T
        position = caches[0].length - self.start                          # tokens written after the prompt
        logits = np.zeros((B, T, self.V))
        for g, script in enumerate(self.scripts):
            logits[g, -1, script[min(position, len(script) - 1)]] = 50.0
        return Tensor(logits), None


def test_group_sampling_answers_calls_per_row_and_masks_tool_output_and_padding():
    tok = add_chat_tokens(CharTokenizer.from_text("0123456789+*?What is "))
    special, enc = tok.special_tokens, tok.encode_ordinary
    prompt = [{"role": "user", "content": "What is 12*3?"}]
    n = len(tok.apply_chat_template(prompt, add_generation_prompt=True))
    tool_row = [special[CALL], *enc("12*3"), special[CALL_END], *([0] * 4), *enc("36"), special[END]]
    plain_row = [*enc("35"), special[END]]
    model = Scripted([tool_row, plain_row], tok.vocab_size, n)
    group = sample_group(model, tok, prompt, 2, temperature=1.0, rng=np.random.default_rng(0))
    output = [special[OUTPUT], *enc("36"), special[OUTPUT_END]]
    row0 = group.ids[0, n:].tolist()
    assert row0 == tool_row[:6] + output + enc("36") + [special[END]]      # the tool's output fed after the call
    assert group.learned[0, n:].tolist() == [True] * 6 + [False] * 4 + [True] * 3
    assert group.ids[1, n:n + 3].tolist() == plain_row and not group.learned[1, n + 3:].any()   # padded, masked
    assert group.texts == ["36", "35"] and group.finished.tolist() == [True, True]
    assert not group.learned[:, :n].any()


# ---------------------------------------------------------------- minilm rl on a small SFT run
@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, corpus):
    """A tiny GPT fine-tuned on add2 long enough to answer with numbers (some right, some wrong)."""
    root = tmp_path_factory.mktemp("rl")
    assert main(["train", "--data", corpus, "--out_dir", str(root / "base"), "--n_layer", "1", "--n_head", "2",
                 "--n_embd", "32", "--block_size", "32", "--max_iters", "1", "--eval_iters", "1", "--warmup_iters", "0",
                 "--progress", "false", "--sample_tokens", "0"]) == 0
    assert main(["sft", "--init-from", str(root / "base"), "--task", "arithmetic", "--task-size", "2000",
                 "--out_dir", str(root / "sft"), "--max_iters", "150", "--batch_size", "16", "--learning_rate", "1e-2",
                 "--eval_iters", "1", "--eval-items", "0", "--progress", "false"]) == 0
    return str(root / "sft")


def test_one_row_of_a_group_is_the_single_reply(sft_run):
    model, tok, _, _ = load_trained(sft_run)
    task = get_task("arithmetic")
    for item in task.items("val", 4, seed=0):
        group = sample_group(model, tok, task.prompt(item), 3, temperature=0)
        assert group.texts == [generate_reply(model, tok, task.prompt(item), temperature=0).text] * 3


RL_TINY = ["--task", "arithmetic", "--kinds", "add2", "--batch_size", "4", "--group-size", "4", "--eval-items", "4",
           "--eval_interval", "2", "--warmup_iters", "0", "--lr_decay_iters", "4", "--learning_rate", "1e-3",
           "--max-new-tokens", "24", "--format-reward", "0.1", "--progress", "false"]


def test_rl_resume_is_bit_identical(sft_run, tmp_path, log_records):
    """4 steps straight == 2 steps, then --resume to 4: rewards, losses, KL and weights equal to the last bit."""
    straight, split = str(tmp_path / "straight"), str(tmp_path / "split")
    common = ["--init-from", sft_run, *RL_TINY, "--ppo-epochs", "2", "--kl-coef", "0.1"]
    assert main(["rl", *common, "--out_dir", straight, "--max_iters", "4"]) == 0
    assert main(["rl", *common, "--out_dir", split, "--max_iters", "2"]) == 0
    assert main(["rl", "--resume", "--out_dir", split, "--max_iters", "4"]) == 0
    assert sum(log_records(straight, "groups_used")) > 0                  # (some groups had a signal: updates ran)
    for key in ("loss", "reward", "kl", "groups_used", "grad_norm", "val_accuracy"):
        assert log_records(split, key) == log_records(straight, key), key
    (a, *_), (b, *_) = load_trained(straight, "latest"), load_trained(split, "latest")
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    assert main(["plot", straight]) == 0 and (tmp_path / "straight" / "loss.png").stat().st_size > 10_000


def test_rl_refusals_are_one_line(sft_run, tmp_path, capsys):
    out = str(tmp_path / "rl")
    assert main(["rl", "--task", "arithmetic", "--out_dir", out]) == 2
    assert main(["rl", "--init-from", sft_run, "--task", "poetry", "--out_dir", out]) == 2
    assert main(["rl", "--init-from", sft_run, "--kinds", "add9", "--out_dir", out]) == 2
    assert main(["rl", "--init-from", sft_run, "--group-size", "1", "--out_dir", out]) == 2
    assert main(["rl", "--resume", "--out_dir", sft_run]) == 2               # an SFT run is not resumed by rl
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 5 and all(line.startswith("minilm rl: ") for line in lines)
    assert "--init-from" in lines[0] and "poetry" in lines[1] and "add9" in lines[2] and "minilm sft --resume" in lines[4]


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None, reason="needs mpi4py: pip install -e '.[distributed]'")
def test_rl_on_two_processes_follows_the_one_process_run(sft_run, tmp_path, log_records):
    """--nproc 2: each rank samples half the prompts, the gradients are averaged: the same steps as 1 process."""
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    common = ["rl", "--init-from", sft_run, *RL_TINY, "--max_iters", "3"]
    assert main([*common, "--out_dir", one]) == 0
    assert main([*common, "--out_dir", two, "--nproc", "2"]) == 0
    assert log_records(two, "groups_used") == log_records(one, "groups_used")
    assert log_records(two, "reward") == pytest.approx(log_records(one, "reward"), rel=1e-9)
    for key in ("loss", "kl", "grad_norm"):
        assert log_records(two, key) == pytest.approx(log_records(one, key), rel=1e-4, abs=1e-7), key
