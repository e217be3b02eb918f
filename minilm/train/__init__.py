"""Training: a language model (configuration, the loop, checkpoints, run folders), and fit() for any model.

    from minilm.train import TrainConfig, Trainer
    trainer = Trainer(TrainConfig(max_iters=200, warmup_iters=20))
    trainer.run()                       # checkpoints in out/, returns the last evaluation

Read in this order: config and rules (the fields and their allowed values), setup
(data, tokenizer, model), step (one training step: accumulation, autocast, loss
scaling, clipping, the non-finite check), evaluation (the loss over batches), loop
(the iteration), checkpoint (what is saved and how), run_folder and lock (who may
write into out_dir), run_log (log.jsonl), stop_signals (Ctrl-C).
`python -m minilm train` is the same from the command line.

    from minilm.train import fit
    history = fit(model, (x, y), loss_fn=F.cross_entropy, optimizer=opt, epochs=10, batch_size=32)

fit (fit.py) is the supervised loop for any Module: mini-batches, validation
metrics by name, early stopping, checkpoints; it returns a Keras-like History.
It takes the same step (step.py) and evaluates with the same routine (evaluation.py).
"""
from .config import PRESETS, TrainConfig, config_from, parse_overrides
from .fit import History, evaluate, fit, load_checkpoint, sequence_cross_entropy
from .evaluation import evaluate_batches
from .loop import Trainer, TrainingStopped, train
from .step import NonFinite, train_step

__all__ = ["fit", "History", "evaluate", "load_checkpoint", "sequence_cross_entropy", "PRESETS", "TrainConfig", "Trainer", "TrainingStopped", "config_from", "parse_overrides", "train",
           "train_step", "NonFinite", "evaluate_batches"]
