"""GloVe (Pennington, Socher & Manning, 2014): word vectors from a matrix of co-occurrence counts.

1. Count. X_ij adds 1/d each time word j appears d <= window words before or
   after word i, so near neighbours count more than far ones.
2. Fit. For every non-zero X_ij, make the dot product of a word vector w_i and
   a context vector w~_j, plus two biases, equal to log X_ij, weighted:

       J = sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2
       f(x) = min(1, (x / x_max)^0.75)

   f keeps the many rare pairs (small, noisy counts) from dominating, and caps
   the weight of the most frequent ones (x >= x_max) at 1. The fit is a weighted
   least-squares regression on log counts: F.mse_loss(reduction="none") times f.
3. Train it with AdaGrad as the paper does (lr 0.05; its code starts every sum of
   squared gradients at 1), and use w + w~ as the word vectors.

Where word2vec (examples/word2vec.py) streams over the corpus sampling context windows,
GloVe reads the whole corpus once into X and then fits only X. The nearest
neighbours of a few words are printed by both methods, on the same vocabulary.

    python examples/glove.py [--epochs 25] [--window 10] [--dim 50] [--x-max 10] [--word2vec-steps 3000]

On the bundled corpus (187,297 words, 3,254 kept, 851,300 non-zero X_ij) the
defaults print, after the cost fell from 0.096 to 0.028 over 25 epochs:

              GloVe                                  word2vec (3000 steps)
        king  richard, henry, edward, bolingbroke, ii  richard, amain, queen, 3, crown
      father  son, mother, mind, brother, prince     son, brother, brothers, princely, smallest
        thou  art, wilt, hast, shalt, dost           art, wilt, liest, grim, wert
"""
import sys
import time

import numpy as np

import minilm
import minilm.functional as F
from minilm import nn
from minilm.cli import run_script
from minilm.cli.parser import CommandParser
from word2vec import QUERIES, corpus_words, nearest, train_skipgram


def cooccurrences(ids, vocab_size, window):
    """The non-zero X_ij as (rows, cols, values): both orders of each pair within `window`, weighted 1/distance."""
    keys, weights = [], []
    for d in range(1, window + 1):
        left, right = ids[:-d], ids[d:]                                  # the pairs d words apart
        keys += [left * vocab_size + right, right * vocab_size + left]   # X is symmetric
        weights += [np.full(2 * len(left), 1.0 / d)]
    keys = np.concatenate(keys)
    unique, position = np.unique(keys, return_inverse=True)
    values = np.bincount(position, weights=np.concatenate(weights))    # add the weights of equal pairs
    return unique // vocab_size, unique % vocab_size, values


def weighting(x, x_max, alpha=0.75):
    """f(x) = min(1, (x / x_max)^alpha)."""
    return np.minimum(1.0, (x / x_max) ** alpha)


class GloVe(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.word, self.context = nn.Embedding(vocab_size, dim), nn.Embedding(vocab_size, dim)
        self.word_bias, self.context_bias = nn.Embedding(vocab_size, 1), nn.Embedding(vocab_size, 1)
        for table in (self.word, self.context, self.word_bias, self.context_bias):   # as the reference code
            nn.init.uniform_(table.weight, -0.5 / dim, 0.5 / dim)

    def forward(self, rows, cols, log_x, f):
        """1/2 sum f (w_i . w~_j + b_i + b~_j - log X_ij)^2 over a batch of pairs (the paper's code has the 1/2)."""
        prediction = ((self.word(rows) * self.context(cols)).sum(-1)                     # (B,)
                      + self.word_bias(rows).squeeze(-1) + self.context_bias(cols).squeeze(-1))
        return 0.5 * (f * F.mse_loss(prediction, log_x, reduction="none")).sum()

    def vectors(self):
        return self.word.weight.numpy() + self.context.weight.numpy()   # w + w~, as the paper recommends


def train_glove(rows, cols, values, vocab_size, dim, epochs, batch, lr, x_max, device="cpu"):
    """A GloVe fit of the non-zero counts by AdaGrad, each epoch one pass over them in a new random order."""
    model = GloVe(vocab_size, dim).to(device)
    opt = minilm.optim.Adagrad(model.parameters(), lr=lr, initial_accumulator_value=1.0)
    columns = [rows, cols, np.log(values).astype(np.float32), weighting(values, x_max).astype(np.float32)]
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        order, total = rng.permutation(len(values)), 0.0
        for start in range(0, len(values), batch):
            pick = order[start:start + batch]
            loss = model(*(minilm.tensor(c[pick], device=device) for c in columns))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        print(f"epoch {epoch + 1}: cost {total / len(values):.4f}")   # J / (number of pairs), as glove.c prints
    return model


def main(argv=None):
    p = CommandParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--dim", type=int, default=50)
    # the paper's x_max = 100 is for billions of tokens; its code's demo on text8 (17M) uses 10, and so
    # does this 0.2M-token corpus, where few pairs reach 100 and f would damp nearly all of them
    p.add_argument("--x-max", type=float, default=10.0)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--word2vec-steps", type=int, default=3000, help="the word2vec run to compare with (0: none)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    minilm.manual_seed(0)
    ids, words, counts = corpus_words()
    if args.smoke:                                                       # a few seconds: a slice, one epoch
        ids, args.epochs, args.window, args.word2vec_steps = ids[:30_000], 1, 3, 5
    t0 = time.perf_counter()
    rows, cols, values = cooccurrences(ids, len(words), args.window)
    print(f"{len(ids):,} tokens, {len(words):,} words, {len(values):,} non-zero co-occurrences "
          f"({len(values) / len(words) ** 2:.1%} of X), counted in {time.perf_counter() - t0:.1f} s")
    glove = train_glove(rows, cols, values, len(words), args.dim, args.epochs, args.batch, args.lr, args.x_max,
                        args.device).vectors()
    columns = {"GloVe": glove}
    if args.word2vec_steps:
        print(f"word2vec for comparison ({args.word2vec_steps} steps):")
        columns["word2vec"] = train_skipgram(ids, counts, args.word2vec_steps, args.dim,
                                             device=args.device).center.weight.numpy()
    print(f"\nnearest neighbours (cosine):\n{'':>8}  " + "".join(f"{name:<44}" for name in columns))
    for query in QUERIES:
        print(f"{query:>8}  " + "".join(f"{', '.join(nearest(v, words, query)):<44}" for v in columns.values()))


if __name__ == "__main__":
    sys.exit(run_script(main))
