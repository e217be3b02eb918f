"""A character-level LSTM language model (char-rnn), trained with truncated backprop through time.

The text is cut into B parallel streams; each step reads the next bptt
characters of every stream, starting from the hidden state the previous step
ended with. Gradients stop at the window's start (the state is detached), but
information flows forward across windows indefinitely.

    python examples/char_lstm_shakespeare.py [--steps 1500] [--device cpu]
"""
import sys
import time

import numpy as np

import minilm
from minilm.cli import run_script
from minilm.cli.parser import CommandParser
from minilm.data import StreamBatcher, load_corpus, train_val_test_split
from minilm.models import LSTMLM
from minilm.tokenizers import CharTokenizer


def main(argv=None):
    p = CommandParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--bptt", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--device", default="cpu")
    p.add_argument("--smoke", action="store_true", help="a few steps of a tiny model")
    args = p.parse_args(argv)
    if args.smoke:
        args.steps, args.hidden = 3, 32
    minilm.manual_seed(0)
    text = load_corpus("shakespeare")
    tok = CharTokenizer.from_text(text)
    train, val, _ = train_val_test_split(np.asarray(tok.encode(text)))
    model = LSTMLM(tok.vocab_size, 128, args.hidden, num_layers=2, dropout=0.0).to(args.device)
    opt = minilm.optim.Adam(model.parameters(), lr=2e-3)
    sched = minilm.optim.CosineWarmupLR(opt, warmup_steps=50, decay_steps=args.steps, min_lr=2e-4)
    stream = StreamBatcher(train, args.batch_size, args.bptt)
    state, start = None, time.time()
    for step in range(args.steps):
        x, y = stream.next_batch(args.device)
        if stream.wrapped:
            state = None
        _, loss, state = model(x, y, state)
        state = LSTMLM.detach_state(state)                     # truncated BPTT
        opt.zero_grad()
        loss.backward()
        minilm.optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {loss.item():.4f} ({time.time() - start:.0f} s)")
    model.eval()
    with minilm.no_grad():
        val_stream = StreamBatcher(val, 8, args.bptt)
        losses, state = [], None
        for _ in range(min(len(val_stream), 20)):
            x, y = val_stream.next_batch(args.device)
            _, loss, state = model(x, y, state)
            losses.append(loss.item())
    print(f"val loss {np.mean(losses):.4f}\n---")
    out = model.generate(np.array([tok.encode("ROMEO:")]), 300, temperature=0.8, top_k=40, seed=1)
    print(tok.decode(out[0]))


if __name__ == "__main__":
    sys.exit(run_script(main))
