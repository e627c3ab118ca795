"""PyTorch reference for RnnService's engine parity tests.

    pytorch_reference.py generate DIR   writes DIR/<case>.pt (a state_dict saved by torch.save) and
                                        DIR/<case>.json (spec, padded inputs, lengths, PyTorch's outputs,
                                        per-step states and parameter count) for every case
    pytorch_reference.py check DIR      for every DIR/<case>.json and DIR/<case>.pt written by our engine,
                                        loads the weights into the PyTorch model (strict) and prints, as JSON,
                                        the largest difference between PyTorch's outputs and states and ours
    pytorch_reference.py readme PAGE DIR
                                        the same with the SequenceModel class that docs/engine.md shows (outputs only)
    pytorch_reference.py train DIR      for every DIR/<case>.json (spec, inputs, lengths, targets, loss, optimizer,
                                        steps), loads DIR/<case>.initial.pt, takes the training steps with
                                        torch.optim and prints, as JSON, each parameter's largest difference from
                                        DIR/<case>.final.pt (our engine's weights after the same steps)
"""
import itertools
import json
import os
import re
import sys

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
LENGTHS = [1, 7, 3, 12, 5, 12]
INPUT_SIZE, HIDDEN_SIZE, OUTPUT_SIZE = 3, 5, 2
VOCABULARY_SIZE, EMBEDDING_DIM = 11, 4


class SequenceModel(nn.Module):
    """The model of DESIGN.md, as a PyTorch user writes it."""

    def __init__(self, spec):
        super().__init__()
        if spec["vocabularySize"] > 0:
            self.embedding = nn.Embedding(spec["vocabularySize"], spec["inputSize"], padding_idx=0)
        else:
            self.embedding = None
        self.rnn = CELLS[spec["cell"]](spec["inputSize"], spec["hiddenSize"], spec["numLayers"], batch_first=True,
                                       bidirectional=spec["bidirectional"],
                                       dropout=spec["dropout"] if spec["numLayers"] > 1 else 0.0)
        self.directions = 2 if spec["bidirectional"] else 1
        self.pooling = spec.get("pooling", "last")
        self.per_step = spec.get("perStep", False)
        state_size = self.directions * spec["hiddenSize"]
        self.attention = nn.Linear(state_size, 1) if self.pooling == "attention" else None
        self.head = nn.Linear(state_size, spec["outputSize"])

    def forward(self, x, lengths):
        if self.embedding is not None:
            x = self.embedding(x)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        output, h_n = self.rnn(packed)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        layers = self.rnn.num_layers
        top = h_n.view(layers, self.directions, x.size(0), self.rnn.hidden_size)[-1]
        last = torch.cat([top[d] for d in range(self.directions)], dim=1)
        states, _ = pad_packed_sequence(output, batch_first=True, total_length=x.size(1))  # zeros past each length
        if self.per_step:  # labelling: the head at every step, zeros past each length
            real = torch.arange(states.size(1))[None, :] < lengths[:, None]
            return self.head(states).masked_fill(~real[:, :, None], 0.0), states
        return self.head(self.pool(last, states, lengths)), states

    def pool(self, last, states, lengths):
        """The representation read from the top layer's outputs over each sequence's real steps."""
        if self.pooling == "last":
            return last
        real = torch.arange(states.size(1))[None, :] < lengths[:, None]
        if self.pooling == "mean":
            return states.sum(1) / lengths[:, None].to(states.dtype)
        if self.pooling == "max":
            return states.masked_fill(~real[:, :, None], float("-inf")).max(1).values
        weights = torch.softmax(self.attention(torch.tanh(states)).squeeze(2).masked_fill(~real, float("-inf")), dim=1)
        return (weights[:, :, None] * states).sum(1)


def case(cell, layers, bidirectional, embedding, pooling, per_step=False):
    name = f"{cell}-l{layers}-{'bi' if bidirectional else 'uni'}-{'emb' if embedding else 'feat'}"
    name = f"{name}-perstep" if per_step else name if pooling == "last" else f"{name}-{pooling}"
    return name, {
        "cell": cell, "numLayers": layers, "bidirectional": bidirectional, "dropout": 0.25,
        "inputSize": EMBEDDING_DIM if embedding else INPUT_SIZE, "hiddenSize": HIDDEN_SIZE,
        "outputSize": OUTPUT_SIZE, "vocabularySize": VOCABULARY_SIZE if embedding else 0, "pooling": pooling,
        "perStep": per_step,
    }


def cases():
    # Every cell, depth, direction and input with the last state; every cell and direction with each other pooling, on
    # one layer of features and on two layers over an embedding; and per step.
    for cell, layers, bidirectional, embedding in itertools.product(CELLS, [1, 2], [False, True], [False, True]):
        yield case(cell, layers, bidirectional, embedding, "last")
    for pooling, cell, bidirectional, (layers, embedding) in itertools.product(
            ["mean", "max", "attention"], CELLS, [False, True], [(1, False), (2, True)]):
        yield case(cell, layers, bidirectional, embedding, pooling)
    # Labelling (one output per step): every cell and direction, the same two shapes.
    for cell, bidirectional, (layers, embedding) in itertools.product(CELLS, [False, True], [(1, False), (2, True)]):
        yield case(cell, layers, bidirectional, embedding, "last", per_step=True)


def inputs_for(spec, generator):
    steps = max(LENGTHS)
    if spec["vocabularySize"] > 0:
        # padding positions hold real token ids too: the model must ignore them, not rely on zeros
        return torch.randint(1, spec["vocabularySize"], (len(LENGTHS), steps), generator=generator)
    return torch.randn(len(LENGTHS), steps, spec["inputSize"], generator=generator) * 2


def run(model, x, lengths):
    model.eval()
    with torch.no_grad():
        return model(x, torch.tensor(lengths))


def generate(directory):
    os.makedirs(directory, exist_ok=True)
    for index, (name, spec) in enumerate(cases()):
        torch.manual_seed(1000 + index)
        model = SequenceModel(spec)
        x = inputs_for(spec, torch.Generator().manual_seed(2000 + index))
        outputs, states = run(model, x, LENGTHS)
        torch.save(model.state_dict(), os.path.join(directory, name + ".pt"))
        if index == 0:
            # users sometimes train in float64; load_state_dict casts, and so must we
            os.makedirs(os.path.join(directory, "float64"), exist_ok=True)
            torch.save(model.double().state_dict(), os.path.join(directory, "float64", name + ".pt"))
        with open(os.path.join(directory, name + ".json"), "w") as f:
            json.dump({
                "name": name, "spec": spec, "lengths": LENGTHS, "inputs": x.tolist(),
                "outputs": outputs.tolist(), "states": states.tolist(),
                "parameterCount": sum(p.numel() for p in model.parameters()),
                "parameterNames": list(model.state_dict().keys()),
            }, f)


def check(directory):
    report = {}
    for file in sorted(f for f in os.listdir(directory) if f.endswith(".json")):
        with open(os.path.join(directory, file)) as f:
            case = json.load(f)
        model = SequenceModel(case["spec"])
        state_dict = torch.load(os.path.join(directory, case["name"] + ".pt"))
        model.load_state_dict(state_dict, strict=True)
        dtype = torch.long if case["spec"]["vocabularySize"] > 0 else torch.float32
        outputs, states = run(model, torch.tensor(case["inputs"], dtype=dtype), case["lengths"])
        report[case["name"]] = {
            "outputs": (outputs - torch.tensor(case["outputs"])).abs().max().item(),
            "states": (states - torch.tensor(case["states"])).abs().max().item(),
            "keys": list(state_dict.keys()),
            "type": type(state_dict).__name__,
        }
    json.dump(report, sys.stdout)


def check_readme(readme, directory):
    """The class docs/engine.md shows PyTorch users, loaded with our weights: it must give our outputs."""
    with open(readme) as f:
        code = re.search(r"```python\n(class SequenceModel\(nn\.Module\):.*?)```", f.read(), re.S).group(1)
    scope = {"nn": nn, "torch": torch, "pack_padded_sequence": pack_padded_sequence, "pad_packed_sequence": pad_packed_sequence}
    exec(code, scope)
    report = {}
    for file in sorted(f for f in os.listdir(directory) if f.endswith(".json")):
        with open(os.path.join(directory, file)) as f:
            case = json.load(f)
        spec = case["spec"]
        model = scope["SequenceModel"](spec["vocabularySize"], spec["inputSize"], spec["hiddenSize"], spec["numLayers"],
                                       spec["bidirectional"], spec["outputSize"], CELLS[spec["cell"]],
                                       "steps" if spec.get("perStep") else spec.get("pooling", "last"))
        model.load_state_dict(torch.load(os.path.join(directory, case["name"] + ".pt")), strict=True)
        model.eval()
        dtype = torch.long if spec["vocabularySize"] > 0 else torch.float32
        lengths = torch.tensor(case["lengths"])
        with torch.no_grad():
            outputs = model(torch.tensor(case["inputs"], dtype=dtype), lengths)
        if spec.get("perStep"):  # what lies past a sequence's length is not an output
            outputs = outputs.masked_fill(~(torch.arange(outputs.size(1))[None, :] < lengths[:, None])[:, :, None], 0.0)
        report[case["name"]] = (outputs - torch.tensor(case["outputs"])).abs().max().item()
    json.dump(report, sys.stdout)


def train(directory):
    """Training steps as PyTorch users write them (dropout off): loss, backward, clip_grad_norm_, Adam or AdamW."""
    report = {}
    for file in sorted(f for f in os.listdir(directory) if f.endswith(".json")):
        with open(os.path.join(directory, file)) as f:
            case = json.load(f)
        spec, name, o = case["spec"], case["name"], case["optimizer"]
        model = SequenceModel(spec)
        model.load_state_dict(torch.load(os.path.join(directory, name + ".initial.pt")), strict=True)
        model.train()
        dtype = torch.long if spec["vocabularySize"] > 0 else torch.float32
        x, lengths = torch.tensor(case["inputs"], dtype=dtype), torch.tensor(case["lengths"])
        kind = torch.optim.AdamW if o["kind"] == "adamw" else torch.optim.Adam
        optimizer = kind(model.parameters(), lr=o["learningRate"], betas=(o["beta1"], o["beta2"]), eps=o["epsilon"],
                         weight_decay=o["weightDecay"])
        for _ in range(case["steps"]):
            optimizer.zero_grad()
            y, _ = model(x, lengths)
            if case["loss"] == "mse":
                loss = nn.functional.mse_loss(y, torch.tensor(case["targets"], dtype=torch.float32))
            else:
                loss = nn.functional.cross_entropy(y, torch.tensor(case["targets"], dtype=torch.long))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), o["clip"])
            optimizer.step()
        ours = torch.load(os.path.join(directory, name + ".final.pt"))
        initial = torch.load(os.path.join(directory, name + ".initial.pt"))
        report[name] = {key: {"difference": (value - ours[key]).abs().max().item(),
                              "moved": (value - initial[key]).abs().max().item()}
                        for key, value in model.state_dict().items()}
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "readme":
        check_readme(sys.argv[2], sys.argv[3])
    else:
        {"generate": generate, "check": check, "train": train}[sys.argv[1]](sys.argv[2])
