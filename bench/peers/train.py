"""The training peer: each workload written the way PyTorch users usually write it, on the same data.

    train.py WORKLOAD_DIR --threads N [--seed S] [--style packed|padded] [--device cpu|cuda]

A model class with nn.Embedding / nn.LSTM / nn.GRU and a linear head; each epoch a shuffled order cut into batches
of 64; a batch padded to its longest sequence (pad_sequence), and then, for variable lengths, either
    packed: pack_padded_sequence(enforce_sorted=False), the representation is h_n (the default), or
    padded: the RNN runs over the padding and the representation is the output at each sequence's last step
            (for a bidirectional RNN the backward half is its output at step 0, after it has read the padding);
Adam, loss, backward, clip_grad_norm_, step. On a GPU the model lives there and each batch is moved there as users
write it (`.to(device)`; packing takes its lengths on the CPU). The first epoch is the warm-up; the later ones are
timed (with the GPU synchronised at both ends). Prints one JSON line: sequences/s, ms per step, final validation loss.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

import workloads


class SequenceModel(nn.Module):
    def __init__(self, spec, style):
        super().__init__()
        self.embedding = nn.Embedding(spec["vocabulary"], spec["embedding"], padding_idx=0) if spec["vocabulary"] else None
        rnn = nn.LSTM if spec["cell"] == "lstm" else nn.GRU
        self.rnn = rnn(spec["embedding"] or spec["features"], spec["hidden"], num_layers=spec["layers"],
                       batch_first=True, bidirectional=spec["bidirectional"])
        self.head = nn.Linear(spec["hidden"] * (2 if spec["bidirectional"] else 1), spec["outputs"])
        self.style = style

    def forward(self, x, lengths):
        if self.embedding is not None:
            x = self.embedding(x)
        if self.style == "packed":
            _, hidden = self.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
            h = hidden[0] if isinstance(hidden, tuple) else hidden
            return self.head(torch.cat([h[-2], h[-1]], dim=1) if self.rnn.bidirectional else h[-1])
        output, _ = self.rnn(x)
        last = output[torch.arange(len(lengths)), lengths - 1]
        if self.rnn.bidirectional:
            size = self.rnn.hidden_size
            last = torch.cat([last[:, :size], output[:, 0, size:]], dim=1)
        return self.head(last)


def batches(inputs, targets, order, size):
    for start in range(0, len(order), size):
        chosen = order[start:start + size]
        sequences = [torch.from_numpy(inputs[i]) for i in chosen]
        lengths = torch.tensor([len(s) for s in sequences])
        yield pad_sequence(sequences, batch_first=True), lengths, torch.from_numpy(targets[chosen])


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--style", choices=["packed", "padded"], default="packed")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.allow_tf32 = False  # float32, as RnnService runs by default (Engine:AllowTf32)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    spec, train_x, train_y = workloads.read(args.folder, "train")
    _, validation_x, validation_y = workloads.read(args.folder, "validation")
    # Sequences of one length need no packing, and users do not pack them.
    style = args.style if spec["min_steps"] != spec["max_steps"] else "padded"
    model = SequenceModel(spec, style).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec["learning_rate"])
    loss_function = F.mse_loss if spec["loss"] == "mse" else F.cross_entropy
    regression = spec["loss"] == "mse"

    timed_seconds, timed_steps, timed_sequences = 0.0, 0, 0
    for epoch in range(spec["epochs"]):
        model.train()
        order = torch.randperm(len(train_x)).numpy()
        synchronize(device)
        started = time.perf_counter()
        steps = 0
        for x, lengths, y in batches(train_x, train_y, order, spec["batch"]):
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            output = model(x, lengths)
            loss = loss_function(output.squeeze(1) if regression else output, y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), spec["clip"])
            optimizer.step()
            steps += 1
        synchronize(device)
        if epoch > 0:  # the first epoch warms up
            timed_seconds += time.perf_counter() - started
            timed_steps += steps
            timed_sequences += len(train_x)

    model.eval()
    total = 0.0
    with torch.no_grad():
        order = sorted(range(len(validation_x)), key=lambda i: len(validation_x[i]))
        for x, lengths, y in batches(validation_x, validation_y, order, 256):
            x, y = x.to(device), y.to(device)
            output = model(x, lengths)
            total += loss_function(output.squeeze(1) if regression else output, y, reduction="sum").item()
    print(json.dumps({
        "workload": spec["name"], "side": f"pytorch-{style}", "threads": args.threads, "seed": args.seed,
        "timedEpochs": spec["epochs"] - 1, "steps": timed_steps,
        "sequencesPerSecond": round(timed_sequences / timed_seconds, 1),
        "msPerStep": round(1000 * timed_seconds / timed_steps, 2),
        "validationLoss": round(total / len(validation_x), 5),
        "engine": f"PyTorch {torch.__version__}", "device": str(device),
    }))


if __name__ == "__main__":
    main()
