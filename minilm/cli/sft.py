"""`minilm sft`: supervised fine-tuning on conversations (a JSONL file or bundled tasks); see minilm/train/sft.py.

    minilm sft --init-from out --data chats.jsonl --out_dir out-sft
    minilm sft --init-from out --task arithmetic,spelling --out_dir out-sft --max_iters 2000
    minilm sft --resume --out_dir out-sft --max_iters 3000

Any TrainConfig field follows as --name value, as for `minilm train` (SFT_DEFAULTS
below replace a few of its defaults: a fine-tuning run is shorter and gentler).
"""
from .. import distributed
from ..train.config import at_least
from ..train.rules import Range
from ..train.sft import SFTOptions, SFTTrainer
from .fine_tuning import options_and_config
from .launcher import as_rank
from .parser import CommandParser, checked

SFT_DEFAULTS = dict(max_iters=1000, learning_rate=1e-3, min_lr=1e-4, eval_interval=200, eval_iters=10, dropout=0.0)


def sft(argv):
    return as_rank(sft_one_rank, argv, "sft")       # --nproc N: N processes under mpiexec (launcher.py)


def sft_one_rank(argv):
    p = CommandParser(prog="minilm sft", description="Fine-tune a language model on conversations.",
                      epilog="Any TrainConfig field can follow as --name value.")
    p.add_argument("--init-from", dest="init_from", help="a run folder (its best checkpoint) or a Hugging Face folder")
    p.add_argument("--data", help="a JSONL file of conversations ({\"messages\": [...]} or prompt/completion)")
    p.add_argument("--task", help="bundled tasks to train on, comma-separated: arithmetic, spelling, shakespeare")
    p.add_argument("--task-size", type=checked(int, at_least(1)), help="train conversations per task (20000)")
    p.add_argument("--skip-bad-lines", action="store_true", default=None, help="train on the good lines of --data")
    p.add_argument("--val-fraction", type=checked(float, Range(0, 1, low_open=True, high_open=True)),
                   help="of --data's conversations, for validation (0.05)")
    p.add_argument("--eval-items", type=checked(int, at_least(0)), help="val items per task answered at each "
                   "evaluation (50; 0: none)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out_dir exactly")
    p.add_argument("--overwrite", action="store_true", help="delete the run in --out_dir and start over")
    args, rest = p.parse_known_args(argv)
    chosen = options_and_config(args, rest, SFTOptions, "sft", SFT_DEFAULTS, "out-sft",
                                "a `minilm train` run or a Hugging Face folder")
    if chosen is None:
        return 0
    options, cfg = chosen
    trainer = SFTTrainer(cfg, options, overwrite=args.overwrite)
    print(f"fine-tuning a GPT of {trainer.model.num_parameters():,} parameters (vocabulary "
          f"{trainer.tokenizer.vocab_size}) on conversations, {cfg.max_iters} iterations, device "
          f"{cfg.device}{distributed.describe(cfg.batch_size)}")
    result = trainer.run()
    accuracy = ", ".join(f"{key[len('val_accuracy_'):]} {value:.3f}" for key, value in result.items()
                         if key.startswith("val_accuracy_"))
    print(f"final: train loss {result['train_loss']:.4f}, val loss {result['val_loss']:.4f} on the assistant's "
          f"tokens{'; val accuracy ' + accuracy if accuracy else ''}; checkpoints in {cfg.out_dir}/ "
          f"(talk to it: minilm chat --out {cfg.out_dir})")
    return 0
