"""Reinforcement learning from verifiable rewards: Group Relative Policy Optimization (GRPO) on a chat model.

After SFT (sft.py) the model answers in the chat format; RL makes it answer *right*
more often, by trying and being scored, with no new demonstrations. One step:

  1. Sample. Draw P prompts of the task's train split (P = batch_size). For each,
     sample G replies from the current policy pi_theta (chat/group_sampling.py: the G
     rows decoded together with the KV cache, temperature and top_k from the config,
     calculator calls answered by the engine).
  2. Score. r_i = reward(item, reply text) (rewards.py: 1 for the exact answer,
     format_reward for a well-formed wrong one, else 0).
  3. Advantage, relative to the group (no value network: the group is the baseline):

         A_i = (r_i - mean(r_1..r_G)) / (std(r_1..r_G) + eps)          eps = 1e-4

     A group whose G rewards are equal (all right, or all wrong) has A_i = 0 for every
     reply: it says nothing about what to do better, so it is skipped (not forwarded).
  4. Update. With o_i,t the t-th token reply i sampled, and pi_old the policy that
     sampled it, the ratio rho_i,t = pi_theta(o_i,t | prefix) / pi_old(o_i,t | prefix) and

         loss = - 1/N sum_i sum_t [ min(rho_i,t A_i, clip(rho_i,t, 1 - c, 1 + c) A_i)
                                    - beta KL_i,t ]

     summed over the tokens the model sampled only (the prompt, the tool's output and
     the padding are masked out), N = the number of such tokens in the batch (all ranks).
     KL_i,t = exp(d) - d - 1 with d = log pi_ref(o_i,t) - log pi_theta(o_i,t), the
     non-negative estimator of KL(pi_theta || pi_ref) of the GRPO paper, pi_ref the
     frozen model RL started from (--kl-coef beta, default 0: logged, not optimised).

The same sampled batch is used for ppo_epochs optimizer steps (--ppo-epochs, default 1).
In the first, pi_old = pi_theta (rho = 1 and its gradient is grad log pi), so the loss's
gradient is the REINFORCE estimator with the group baseline:

         grad loss = - 1/N sum_i A_i sum_t grad log pi_theta(o_i,t | prefix)

In later epochs theta has moved and the clip (c = 0.2) stops a token's ratio from being
pushed past 1 +- c in the direction its advantage favours: PPO's trust region.
Each optimizer step is step.py's train_step (clipping, the non-finite check, DDP).

Simplifications relative to the papers, on purpose:
  * GRPO (Shao et al., 2024, DeepSeekMath) averages each reply's tokens, then the
    replies (1/G sum_i 1/|o_i| sum_t); here every sampled token of the batch weighs the
    same (1/N sum_i sum_t), as in DAPO (Yu et al., 2025) and Dr. GRPO (Liu et al., 2025):
    a long wrong reply is not punished less per token than a short one.
  * PPO (Schulman et al., 2017) adds a value network, GAE and an entropy bonus, and
    splits the batch into minibatches: none of that here; an epoch is one step on the
    whole batch.
  * The reward is a whole reply's, given to each of its tokens (no per-token credit).
  * The std is the group's population std; groups are not reweighted by their size
    after skipping.
  * pi_theta's log-probabilities are the model's softmax at temperature 1 over the whole
    vocabulary: sampling with temperature 1 and no top_k (minilm rl's defaults) makes the
    gradient unbiased; another temperature or a top_k samples from a different policy
    than the one differentiated, a bias accepted knowingly (no correction is made).

Validation (every eval_interval steps): greedy exact-match accuracy on eval_items val
items of the task (chat/task_accuracy.py, what `minilm eval --task` measures); the
checkpoint with the best val accuracy is kept as "best". Prompts and the sampling seed
of each group come from the trainer's batch generator, whose state is in every
checkpoint: a resumed run samples the same replies as one that was never stopped.
On several processes the P prompts of a step are split over the ranks (P a multiple
of the number of processes), and the gradients averaged.
"""
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .. import backend, distributed
from ..chat.group_sampling import sample_group
from ..chat.task_accuracy import MAX_NEW_TOKENS, task_accuracy
from ..data.tasks import get_task
from ..functional import clamp, cross_entropy, exp, where
from ..models.sampling import inference
from ..tensor import Tensor
from ..tokenizers.chat_format import has_chat_tokens
from .checkpoint import checkpoint_folder, load_model_weights
from .evaluation import IGNORE, note_best
from .loop import Trainer
from .rewards import reward_function
from .run_log import print_once
from .setup import build_model
from .step import NonFinite, train_step

EPS = 1e-4


@dataclass
class RLOptions:
    task: str = "arithmetic"        # the bundled task whose train prompts are sampled and rewarded
    kinds: str = ""                 # its kinds to train and validate on, comma-separated ("": all)
    group_size: int = 8             # G: replies sampled per prompt
    max_new_tokens: int = MAX_NEW_TOKENS
    kl_coef: float = 0.0            # beta: weight of the KL penalty to the starting model
    ppo_epochs: int = 1             # optimizer steps on each sampled batch
    clip: float = 0.2               # c: the ratio's clip range
    format_reward: float = 0.0      # reward of a well-formed wrong answer (rewards.py)
    tools: bool = True              # answer calculator calls while sampling and validating
    eval_items: int = 100           # val items answered greedily at each evaluation

    def __post_init__(self):
        reward_function(self.task, self.format_reward)                 # (checks the task and format_reward)
        get_task(self.task).check_kinds(self.kind_list())
        for name, low in (("group_size", 2), ("max_new_tokens", 1), ("ppo_epochs", 1), ("eval_items", 1)):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {getattr(self, name)!r}")
        if not (self.kl_coef >= 0 and math.isfinite(self.kl_coef)):
            raise ValueError(f"kl_coef must be a number >= 0, got {self.kl_coef}")
        if not 0 < self.clip < 1:
            raise ValueError(f"clip must be in (0, 1), got {self.clip}")

    def kind_list(self):
        return tuple(k.strip() for k in self.kinds.split(",") if k.strip())


# ---------------------------------------------------------------- the algorithm, as functions of arrays
def group_advantages(rewards):
    """A (P, G) from rewards (P, G): each group's rewards minus their mean, over their std + EPS."""
    rewards = np.asarray(rewards, dtype=np.float64)
    mean, std = rewards.mean(axis=1, keepdims=True), rewards.std(axis=1, keepdims=True)      # (P, 1)
    return (rewards - mean) / (std + EPS)


def token_log_probs(model, ids, learned):
    """log pi(o_t | prefix) (B, L) of each token of ids (B, L+1) given the ones before; 0 where not learned."""
    B, L = ids.shape[0], ids.shape[1] - 1
    targets = np.where(learned[:, 1:], ids[:, 1:], IGNORE)                             # (B, L)
    logits, _ = model(Tensor(ids[:, :-1], device=model.device))                       # (B, L, V)
    return -cross_entropy(logits.view(B * L, -1), targets.reshape(B * L), reduction="none").view(B, L)


def policy_loss(logp, mask, advantages, old_logp=None, ref_logp=None, clip=0.2, kl_coef=0.0, tokens=None):
    """The clipped surrogate (the module docstring's loss) from log pi_theta (B, L), a Tensor.

    mask (B, L): 1 on sampled tokens; advantages (B,); old_logp, ref_logp (B, L) arrays (None: pi_old is
    pi_theta, no KL term); tokens: N, the count the sum is divided by (default: mask's). Returns (loss, KL
    summed over the masked tokens, a float)."""
    xp = backend.xp_of(logp.data)
    mask = xp.asarray(mask, dtype=logp.data.dtype)                                      # (B, L)
    A = xp.asarray(np.asarray(advantages)[:, None], dtype=logp.data.dtype) * mask       # (B, L)
    old = logp.data if old_logp is None else xp.asarray(old_logp)
    ratio = exp(logp - old)                                                             # (B, L), 1 at first
    unclipped, clipped = ratio * A, clamp(ratio, 1 - clip, 1 + clip) * A
    per_token = -where(unclipped.data <= clipped.data, unclipped, clipped)             # minus the min of the two
    kl_sum = 0.0
    if ref_logp is not None:
        d = xp.asarray(ref_logp) - logp                                                 # log pi_ref - log pi_theta
        kl = (exp(d) - d - 1.0) * mask                                                  # (B, L), >= 0
        kl_sum = float(kl.data.sum())
        if kl_coef:
            per_token = per_token + kl * kl_coef
    N = float(mask.sum()) if tokens is None else tokens
    return (per_token * mask).sum() / max(N, 1.0), kl_sum


# ---------------------------------------------------------------- the trainer: Trainer's loop, checkpoints and run folder
class RLTrainer(Trainer):
    command = "rl"

    def __init__(self, cfg, options, overwrite=False):
        self.options = options
        super().__init__(cfg, overwrite)
        self.reference = self._reference_model()
        self.last = {"reward": 0.0, "accuracy": 0.0, "kl": 0.0, "groups_used": 0, "completion_tokens": 0}

    def load_data(self, cfg, tokenizer):
        """No corpus: the task's prompts are drawn at each step. The tokenizer is the chat model's."""
        o = self.options
        if cfg.model != "gpt" or not cfg.init_from:
            raise ValueError("minilm rl trains a chat model: give --init-from out-sft/ (a `minilm sft` run)")
        if tokenizer is None or not (has_chat_tokens(tokenizer) or getattr(tokenizer, "chat_template", None)):
            raise ValueError(f"{cfg.init_from} has no chat format (no <|assistant|> token): fine-tune it first with "
                             f"minilm sft --init-from {cfg.init_from} --task {o.task}, then start RL from that run")
        self.task, self.reward = get_task(o.task), reward_function(o.task, o.format_reward)
        self.kinds = o.kind_list() or self.task.kinds
        self.eval_items = self.task.items("val", o.eval_items, cfg.seed, kinds=self.kinds)
        return tokenizer, None, None

    def _reference_model(self):
        """pi_ref: the frozen model RL started from (init_from's best checkpoint), for the KL term and its log."""
        reference = build_model(self.cfg, self.tokenizer.vocab_size)
        load_model_weights(checkpoint_folder(self.cfg.init_from, "best"), reference)
        return reference.to(self.cfg.device).eval()

    def _state(self):
        return {**super()._state(), "rl": dataclasses.asdict(self.options)}

    # ---------------------------------------------------------------- one step: sample, score, update
    def draw_prompts(self):
        """This rank's (item, sampling seed) pairs of the step's global batch of P = batch_size prompts."""
        items = self.task.items("train", self.cfg.batch_size, int(self.batch_rng.integers(2**31)), kinds=self.kinds,
                                distinct=False)
        seeds = self.batch_rng.integers(2**63, size=self.cfg.batch_size)          # one sampling generator a group
        return list(zip(items, seeds.tolist()))[self.rows]

    def sample_batch(self):
        """The step's groups: (sampled Group, rewards (G,)) per prompt of this rank."""
        c, o = self.cfg, self.options
        groups = []
        for item, seed in self.draw_prompts():
            group = sample_group(self.model, self.tokenizer, self.task.prompt(item), o.group_size, c.temperature,
                                 c.top_k or None, np.random.default_rng(seed), o.max_new_tokens, tools=o.tools)
            groups.append((group, np.array([self.reward(item, text) for text in group.texts])))
        return groups

    def train_step(self):
        """Sample, score, ppo_epochs optimizer steps on the batch; returns (mean loss, lr, gradient norm)."""
        o = self.options
        lr = self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        groups = self.sample_batch()
        rewards = np.stack([r for _, r in groups])                                      # (p, G)
        advantages = group_advantages(rewards)                                          # (p, G)
        used = [i for i in range(len(groups)) if rewards[i].std() > 0]                  # the others: A = 0
        # a rank without a group to learn from, while others have one, takes part in the gradient average with
        # a stand-in of zero advantage (its gradient is zero)
        ids, learned, A = self._batch([groups[i][0] for i in used] or [groups[0][0]],
                                      advantages[used].reshape(-1) if used else np.zeros(o.group_size))
        local = np.array([learned[:, 1:].sum() if used else 0, len(used), rewards.sum(), (rewards == 1).sum(),
                          rewards.size, sum(g.learned.sum() for g, _ in groups)], dtype=float)
        tokens, n_used, reward_sum, right, count, sampled = distributed.all_reduce([local], op="sum")[0].tolist()
        loss, norm, kl_sum, old = 0.0, 0.0, 0.0, {}
        if n_used:                                   # (no group with a signal anywhere: no update this step)
            ref_logp = self._reference_log_probs(ids, learned)
            for _ in range(o.ppo_epochs):
                loss, norm, kl_sum = self._update(ids, learned, A, old, ref_logp, tokens)
        kl_sum = distributed.all_reduce([np.array([kl_sum if used else 0.0])], op="sum")[0][0]   # (not the stand-in's)
        self.last = {"reward": reward_sum / count, "accuracy": right / count, "kl": kl_sum / max(tokens, 1),
                     "groups_used": int(n_used), "completion_tokens": int(sampled)}
        self.step += 1
        return loss, lr, norm

    def _batch(self, groups, advantages):
        """ids (B, L+1), learned (B, L+1) and A (B,) of the groups' rows, padded on the right (masked)."""
        width = max(g.ids.shape[1] for g in groups)

        def padded(rows, value):                                                    # (G, l) -> (G, width)
            return np.pad(rows, ((0, 0), (0, width - rows.shape[1])), constant_values=value)
        ids = np.concatenate([padded(g.ids, g.ids[0, -1]) for g in groups])         # (B, L+1)
        learned = np.concatenate([padded(g.learned, False) for g in groups])        # (B, L+1)
        return ids, learned, advantages

    def _reference_log_probs(self, ids, learned):
        with inference(self.reference):
            return token_log_probs(self.reference, ids, learned).data

    def _update(self, ids, learned, A, old, ref_logp, tokens):
        """One optimizer step on the batch (step.py); `old` keeps log pi_old from the first epoch."""
        c, o = self.cfg, self.options
        kl = [0.0]
        scale = distributed.world_size() / tokens          # ranks' gradients are averaged: the sum over all / N

        def loss_of_batch():
            logp = token_log_probs(self.model, ids, learned)                           # (B, L)
            old.setdefault("logp", logp.data.copy())                                   # pi_old: the sampler
            loss, kl[0] = policy_loss(logp, learned[:, 1:], A, old["logp"], ref_logp, o.clip, o.kl_coef, tokens=1.0)
            return loss * scale
        try:
            loss, norm = train_step(loss_of_batch, self.model, self.optimizer, self.scaler, 1,
                                    c.grad_clip if c.grad_clip > 0 else math.inf, c.device, c.dtype, self.ddp)
        except NonFinite as error:
            self._stop(f"{error} at step {self.step}")
        return loss, norm, kl[0]

    # ---------------------------------------------------------------- what is logged and shown
    def tokens_in_step(self):
        return self.last["completion_tokens"]

    def step_metrics(self):
        return {key: self.last[key] for key in ("reward", "accuracy", "kl", "groups_used")}

    def progress_fields(self, record):
        return dict(reward=f"{record['reward']:.3f}", acc=f"{record['accuracy']:.3f}", kl=f"{record['kl']:.4f}",
                    tok_s=f"{record['tokens_per_s']:,.0f}")

    # ---------------------------------------------------------------- validation: greedy exact match on val items
    def estimate_loss(self):
        """{"val_accuracy", "val_accuracy_KIND"...}: each rank answers its share of the items, the counts are summed."""
        right = {kind: 0.0 for kind in ("all", *self.kinds)}
        count = dict.fromkeys(right, 0.0)

        def tally(item, reply, reward):
            for key in ("all", item.kind):
                right[key] += reward == 1.0
                count[key] += 1
        share = self.eval_items[distributed.rank()::distributed.world_size()]
        task_accuracy(self.model, self.tokenizer, self.task, share, self.options.tools, self.options.max_new_tokens,
                      on_item=tally)
        sums = distributed.all_reduce([np.array([*right.values(), *count.values()])], op="sum")[0]
        k = len(right)
        return {("val_accuracy" if key == "all" else f"val_accuracy_{key}"): sums[i] / max(sums[k + i], 1)
                for i, key in enumerate(right)}

    def evaluate_and_save(self, log):
        record = {"step": self.step, **self.estimate_loss()}
        # the best checkpoint has the lowest val error, 1 - accuracy (best_val, as Trainer's lowest val loss)
        improved, self.best_val, self.bad_evals = note_best(1 - record["val_accuracy"], self.best_val, self.bad_evals)
        log(record)
        print_once(f"step {self.step}: val accuracy {record['val_accuracy']:.3f} (" + ", ".join(
            f"{key[len('val_accuracy_'):]} {value:.2f}" for key, value in record.items()
            if key.startswith("val_accuracy_")) + f") on {len(self.eval_items)} val items")
        self.save(best=improved)
        return record
