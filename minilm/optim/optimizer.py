"""Optimizer: the part of training that turns gradients into better weights.

Parameters come in groups (a list of dicts, as in PyTorch), so that one
optimizer can, say, decay the matrices of a model but not its biases and norm
gains. Per-parameter state (momentum buffers, Adam's moments) lives in
`self.state[p]`; `state_dict()` lays it out by parameter position, so a saved
optimizer reloads into a freshly built model.
"""
from ..autograd import no_grad
from ..backend import to_device


class Optimizer:
    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        for group in groups:
            unknown = set(group) - set(defaults) - {"params"}
            if unknown:
                raise ValueError(f"unknown option(s) {sorted(unknown)} in a parameter group; "
                                 f"valid: {sorted(defaults)}")
            self.param_groups.append({**defaults, **group, "params": list(group["params"])})
        self.state = {}

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self):
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.update(p, p.grad, self.state.setdefault(p, {}), group)

    def update(self, p, grad, state, group):
        """Change p.data in place from its gradient, its state and the group's options."""
        raise TypeError(f"{type(self).__name__} must define update(p, grad, state, group)")

    # ---------------------------------------------------------------- saving
    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self):
        """{"state": {index: {name: array or number}}, "param_groups": [options + param indices]}."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": list(range(start, start + n))})
            start += n
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        params = self._params()
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups)):
            raise ValueError("optimizer state does not match: saved groups have sizes "
                             f"{[len(g['params']) for g in groups]}, this optimizer "
                             f"{[len(g['params']) for g in self.param_groups]}")
        for own, saved in zip(self.param_groups, groups):
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            restored = {}
            for k, v in s.items():
                if hasattr(v, "shape") and v.shape != () and v.shape != p.shape:
                    raise ValueError(f"optimizer state {k!r} of parameter {i} has shape {v.shape}, "
                                     f"the parameter has {p.shape}")
                restored[k] = to_device(v, p.device).astype(p.dtype) if hasattr(v, "shape") and v.shape != () else v
            self.state[p] = restored
