"""Modules: registration, names, state_dict round trips, PyTorch compatibility."""
import numpy as np
import pytest

import minilm
from minilm import nn
from helpers import fixture


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight           # tied

    def forward(self, ids):
        x = self.embed(ids)
        for layer in self.layers:
            x = nn.GELU()(layer(x))
        return self.head(self.norm(x))


def test_names_and_tied_weights():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["embed.weight", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "norm.weight", "norm.bias"]
    assert "head.weight" in net.state_dict()
    assert net.num_parameters() == 10 * 4 + 2 * (16 + 4) + 8


def test_linear_layout_and_default_init():
    layer = nn.Linear(100, 7)
    assert layer.weight.shape == (7, 100) and layer.bias.shape == (7,)
    assert np.abs(layer.weight.numpy()).max() <= 0.1 and np.abs(layer.weight.numpy()).max() > 0.05


def test_state_dict_round_trip_and_zero_grad():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    ids = minilm.tensor(np.array([[1, 2, 3]]))
    assert np.array_equal(a(ids).numpy(), b(ids).numpy())
    a(ids).sum().backward()
    assert all(p.grad is not None for p in a.parameters())
    a.zero_grad()
    assert all(p.grad is None for p in a.parameters())


def test_load_state_dict_names_every_problem():
    net = Net()
    sd = dict(net.state_dict())
    sd.pop("norm.bias")
    sd["extra.weight"] = np.zeros(3)
    sd["layers.0.weight"] = np.zeros((5, 4), np.float32)
    with pytest.raises(ValueError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert "norm.bias" in msg and "extra.weight" in msg and "layers.0.weight" in msg and "(5, 4)" in msg
    sd["layers.0.weight"] = np.zeros((4, 4), np.float32)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["norm.bias"] and unexpected == ["extra.weight"]


def test_train_eval_switches_dropout():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    x = minilm.tensor(np.ones((4, 3)))
    model.eval()
    assert not model[1].training
    assert np.array_equal(model(x).numpy(), model(x).numpy())
    model.train()
    assert model[1].training


def test_pytorch_state_dict_loads_unchanged():
    data = fixture("nn_mlp.safetensors")
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    model.load_state_dict({k[len("state."):]: v for k, v in data.items() if k.startswith("state.")})
    np.testing.assert_allclose(model(minilm.tensor(data["x"])).numpy(), data["y"], atol=1e-6)


def test_module_to_device_and_dtype():
    model = nn.Linear(2, 2).to(dtype=np.float64)
    assert model.weight.dtype == np.float64
    assert model.to("emu").weight.device == "emu"
