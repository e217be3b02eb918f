"""What `minilm sft` and `minilm rl` share: the options and config of a new run, or of the run they resume.

    options, cfg = options_and_config(args, rest, SFTOptions, "sft", SFT_DEFAULTS, "out-sft", "a `minilm train` run")

args are the command's parsed flags (--init-from, --resume, --overwrite and the
options class's fields), rest its TrainConfig fields (--name value). A resumed run
continues with the options and config saved in its checkpoint (under the command's
name), except what is given now; a new one starts from defaults, then the flags.
None: the resumed run has already reached max_iters (said on stdout).
"""
import dataclasses

from ..train.checkpoint import checkpoint_folder, load_state, saved_config
from ..train.config import TrainConfig, config_from, parse_overrides
from ..train.run_folder import reached_step

COMMANDS = ("sft", "rl")                # the commands whose checkpoints hold their options under their name


def options_and_config(args, rest, options_class, command, defaults, default_out_dir, starts_from):
    """(options, TrainConfig) of `minilm COMMAND`, or None when a resumed run has nothing left to do."""
    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out_dir and --overwrite deletes it: give one of them")
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(options_class)
             if getattr(args, f.name) is not None}
    overrides = parse_overrides(rest)
    if args.resume:
        out_dir = overrides.get("out_dir", TrainConfig.out_dir)
        state = load_state(checkpoint_folder(out_dir, "latest"))
        if command not in state:
            made_by = next((name for name in COMMANDS if name in state), "train")
            raise ValueError(f"{out_dir} holds a `minilm {made_by}` run, not a `minilm {command}` run; continue "
                             f"it with minilm {made_by} --resume --out_dir {out_dir}")
        options = options_class(**{**state[command], **given})
        cfg = config_from(overrides={**overrides, "resume": True}, base=saved_config(out_dir))
        step = reached_step(cfg.out_dir)
        if step >= cfg.max_iters:
            print(f"{cfg.out_dir} is already trained to step {step} (max_iters {cfg.max_iters}): nothing to do; "
                  "to train further, resume with a larger --max_iters")
            return None
        return options, cfg
    if not args.init_from:
        raise ValueError(f"minilm {command} fine-tunes a trained model: give --init-from DIR ({starts_from})")
    options = options_class(**given)
    values = {**defaults, **overrides, "init_from": args.init_from}
    values.setdefault("lr_decay_iters", values["max_iters"])           # (decayed by the run's end)
    values.setdefault("warmup_iters", min(50, values["max_iters"] // 10))
    values.setdefault("out_dir", default_out_dir)
    return options, config_from(overrides=values)
