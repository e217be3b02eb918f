"""Train a character-level GPT on Shakespeare and sample from it: the main job, as a script.

This is the one-call version: a TrainConfig, then Trainer(cfg).run(), which is
`python -m minilm train` with its checkpoints, logging and resuming. The same
training written out step by step (data, model, optimizer, schedule, the loop,
evaluation, sample) is examples/train_gpt.py.

    python examples/gpt_shakespeare.py                  # nanoGPT's CPU configuration, 2000 steps
    python examples/gpt_shakespeare.py --max_iters 500 --n_layer 2
"""
import sys

from minilm.cli import run_script
from minilm.cli.parser import CommandParser
from minilm.train.config import config_from, parse_overrides
from minilm.train.loop import Trainer


def main(argv=None):
    parser = CommandParser(description=__doc__.split("\n")[0],
                           epilog="Any TrainConfig field can follow as --name value.")
    parser.add_argument("--smoke", action="store_true", help="a few steps of a tiny model")
    args, rest = parser.parse_known_args(argv)
    overrides = parse_overrides(rest)
    overrides.setdefault("out_dir", "out-gpt-shakespeare")
    if args.smoke:
        overrides.update(max_iters=4, warmup_iters=2, eval_interval=2, eval_iters=1, n_layer=1, n_embd=32, sample_tokens=40,
                         progress=False)
    cfg = config_from("shakespeare-char", overrides=overrides)
    trainer = Trainer(cfg)
    print(f"GPT with {trainer.model.num_parameters():,} parameters, vocabulary {trainer.tokenizer.vocab_size}")
    result = trainer.run()
    print(f"val loss {result['val_loss']:.4f}\n---")
    print(trainer.sample(prompt="ROMEO:", seed=1))


if __name__ == "__main__":
    sys.exit(run_script(main))
