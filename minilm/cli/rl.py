"""`minilm rl`: reinforcement learning with verifiable rewards (GRPO) on a chat model; see minilm/train/rl.py.

    minilm rl --init-from out-sft --task arithmetic --out_dir out-rl
    minilm rl --init-from out-sft --task arithmetic --kinds add3,sub3 --group-size 8 --kl-coef 0.01
    minilm rl --resume --out_dir out-rl --max_iters 400

Any TrainConfig field follows as --name value, as for `minilm train`: batch_size is
the number of prompts per step (each sampled --group-size times), temperature and
top_k the sampling's. RL_DEFAULTS below replace a few of TrainConfig's defaults.
"""
from .. import distributed
from ..train.config import at_least
from ..train.rl import RLOptions, RLTrainer
from ..train.rules import Range
from .fine_tuning import options_and_config
from .launcher import as_rank
from .parser import CommandParser, checked

RL_DEFAULTS = dict(max_iters=200, batch_size=8, learning_rate=1e-4, min_lr=1e-5, eval_interval=25,
                   eval_iters=1, dropout=0.0, weight_decay=0.0, temperature=1.0, top_k=0, log_interval=1)


def rl(argv):
    return as_rank(rl_one_rank, argv, "rl")          # --nproc N: N processes under mpiexec (launcher.py)


def rl_one_rank(argv):
    p = CommandParser(prog="minilm rl", description="Improve a chat model by reinforcement learning (GRPO) on a "
                      "task whose answers can be checked.", epilog="Any TrainConfig field can follow as --name value.")
    p.add_argument("--init-from", dest="init_from", help="a `minilm sft` run folder (its best checkpoint)")
    p.add_argument("--task", help="the bundled task: arithmetic (default), spelling or shakespeare")
    p.add_argument("--kinds", help="its kinds to train on, comma-separated (e.g. add3,sub3; default: all)")
    p.add_argument("--group-size", type=checked(int, at_least(2)), help="replies sampled per prompt (8)")
    p.add_argument("--max-new-tokens", type=checked(int, at_least(1)), help="longest reply, in tokens (48)")
    p.add_argument("--kl-coef", type=checked(float, at_least(0)), help="weight of the KL penalty to the "
                   "starting model (0)")
    p.add_argument("--ppo-epochs", type=checked(int, at_least(1)), help="optimizer steps per sampled batch (1)")
    p.add_argument("--clip", type=checked(float, Range(0, 1, low_open=True, high_open=True)),
                   help="the clip range of the probability ratio (0.2)")
    p.add_argument("--format-reward", type=checked(float, Range(0, 1, high_open=True)),
                   help="reward of a well-formed wrong answer (0)")
    p.add_argument("--no-tools", dest="tools", action="store_false", default=None,
                   help="do not answer calculator calls")
    p.add_argument("--eval-items", type=checked(int, at_least(1)), help="val items answered at each evaluation (100)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out_dir exactly")
    p.add_argument("--overwrite", action="store_true", help="delete the run in --out_dir and start over")
    args, rest = p.parse_known_args(argv)
    chosen = options_and_config(args, rest, RLOptions, "rl", RL_DEFAULTS, "out-rl", "a `minilm sft` run")
    if chosen is None:
        return 0
    options, cfg = chosen
    trainer = RLTrainer(cfg, options, overwrite=args.overwrite)
    print(f"GRPO on {options.task} ({', '.join(trainer.kinds)}): a GPT of {trainer.model.num_parameters():,} "
          f"parameters, {cfg.batch_size} prompts x {options.group_size} replies per step, {cfg.max_iters} steps, "
          f"device {cfg.device}{distributed.describe(cfg.batch_size)}")
    result = trainer.run()
    print(f"final: val accuracy {result['val_accuracy']:.3f} on {len(trainer.eval_items)} val items; checkpoints in "
          f"{cfg.out_dir}/ (measure it: minilm eval --out {cfg.out_dir} --task {options.task})")
    return 0
