"""`minilm train`: a TrainConfig from a preset, a JSON file and --field value overrides, then a run."""
from .. import distributed
from ..train.checkpoint import saved_config
from ..train.config import DEFAULT_PRESET, PRESETS, TrainConfig, config_from, parse_overrides, read_json
from ..train.loop import Trainer
from ..train.run_folder import reached_step
from .launcher import as_rank
from .parser import CommandParser


# --init-from takes the model's architecture from its checkpoint; of a preset only the optimisation is left,
# and fine-tuning a trained model takes AdamW (Muon's orthogonalised steps are for training from scratch)
FINE_TUNING_PRESET = "shakespeare-char"
LSTM_PRESET = "shakespeare-lstm"      # the default's recipe (Muon, QK-norm, 3 layers) is a transformer's


def preset_for(args, overrides):
    """The preset a run without --preset starts from: fine-tuning's, the LSTM's (--model lstm), or the default."""
    if args.preset:
        return args.preset
    if overrides.get("init_from"):
        return FINE_TUNING_PRESET
    if {**read_json(args.config), **overrides}.get("model") == "lstm":
        return LSTM_PRESET
    return DEFAULT_PRESET


def train(argv):
    return as_rank(train_one_rank, argv)         # --nproc N: N processes under mpiexec (see launcher.py)


def train_one_rank(argv):
    parser = CommandParser(prog="minilm train", description="Train a language model.",
                           epilog="Any TrainConfig field can follow as --name value.")
    parser.add_argument("--preset", help=f"one of {sorted(PRESETS)}; default {DEFAULT_PRESET} (Muon, QK-norm, "
                                         f"Llama's blocks: a Qwen3; 3 layers, 800 steps); {FINE_TUNING_PRESET} "
                                         f"is the classic GPT-2 recipe (nanoGPT's, AdamW), and the default with "
                                         f"--init-from; {LSTM_PRESET} the default with --model lstm")
    parser.add_argument("--config", help="a JSON file of TrainConfig fields")
    parser.add_argument("--init-from", dest="init_from", help="a checkpoint folder to fine-tune from")
    parser.add_argument("--speaker", help="train on this speaker's speeches only (e.g. ROMEO)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out_dir exactly")
    parser.add_argument("--overwrite", action="store_true", help="delete the run in --out_dir and start over")
    parser.add_argument("--nproc", type=int, default=1, help="train on N processes (data-parallel, MPI)")
    args, rest = parser.parse_known_args(argv)
    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out_dir and --overwrite deletes it: give one of them")
    overrides = parse_overrides(rest)
    if args.init_from:
        overrides["init_from"] = args.init_from
    if args.resume:
        overrides["resume"] = True
    if args.speaker:
        overrides["speaker"] = args.speaker
    if args.resume:
        # a resumed run continues with the settings it was started with, except those given now
        out_dir = overrides.get("out_dir") or read_json(args.config).get("out_dir") or TrainConfig.out_dir
        cfg = config_from(json_path=args.config, overrides=overrides, base=saved_config(out_dir))
        step = reached_step(cfg.out_dir)
        if step >= cfg.max_iters:
            print(f"{cfg.out_dir} is already trained to step {step} (max_iters {cfg.max_iters}): nothing to do; "
                  f"to train further, resume with a larger --max_iters")
            return 0
    else:
        cfg = config_from(preset_for(args, overrides), args.config, overrides)
    trainer = Trainer(cfg, overwrite=args.overwrite)
    print(f"training a {(cfg.cell if cfg.model == 'lstm' else cfg.model).upper()} of "
          f"{trainer.model.num_parameters():,} parameters on {len(trainer.train_data):,} tokens "
          f"(vocabulary {trainer.tokenizer.vocab_size}), {cfg.max_iters} iterations with "
          f"{type(trainer.optimizer).__name__}, device {cfg.device}{distributed.describe(cfg.batch_size)}")
    result = trainer.run()
    print(f"final: train loss {result['train_loss']:.4f}, val loss {result['val_loss']:.4f} "
          f"(perplexity {result['val_ppl']:.2f}, next-token accuracy {result['val_acc']:.3f}); "
          f"checkpoints in {cfg.out_dir}/")
    if distributed.is_main():
        print("-" * 60)
        try:
            print(trainer.sample(seed=cfg.seed))
        except ValueError as error:          # e.g. the default prompt "\n" is not in a char vocabulary
            print(f"(no sample: {error}; the model is saved: try `minilm sample --out {cfg.out_dir} --prompt TEXT`)")
    return 0
