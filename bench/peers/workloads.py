"""The training benchmark's three workloads and their data, shared by RnnService's harness and the PyTorch peer.

    workloads.py OUT_DIR [--scale S]

writes, for each workload, OUT_DIR/<name>/ with raw little-endian arrays that both sides read as they are:
    {train,validation}_lengths.i64     steps of each sequence
    {train,validation}_inputs.f32      features, sequences one after another (length x features each), or
    {train,validation}_inputs.i64      token ids (1..vocabulary-1; 0 is padding and never occurs)
    {train,validation}_targets.f32     one regression target per sequence, or
    {train,validation}_targets.i64     one class index per sequence
    workload.json                      the model and training settings (WORKLOADS below, plus the counts)

The data are seeded (numpy), so every run and both sides see the same examples.
"""
import json
import os
import sys

import numpy as np

# Model and training settings. Steps, batch size, optimizer and clipping are the same on both sides.
WORKLOADS = {
    # (a) fixed-length forecasting: every batch is 64 x 50 x 8, no padding at all.
    "a-lstm-fixed": dict(cell="lstm", layers=2, hidden=128, bidirectional=False, features=8, vocabulary=0,
                         embedding=0, outputs=1, loss="mse", batch=64, train=4096, validation=1024,
                         min_steps=50, max_steps=50, epochs=4, learning_rate=1e-3, clip=1.0),
    # (b) variable-length sequence classification: lengths spread evenly over 10-300 steps.
    "b-gru-variable": dict(cell="gru", layers=2, hidden=256, bidirectional=False, features=8, vocabulary=0,
                           embedding=0, outputs=4, loss="cross_entropy", batch=64, train=512, validation=512,
                           min_steps=10, max_steps=300, epochs=3, learning_rate=2e-3, clip=1.0),
    # (c) short-text classification: 20,000-word vocabulary, embedding 128, bidirectional LSTM 64.
    "c-text-bilstm": dict(cell="lstm", layers=1, hidden=64, bidirectional=True, features=0, vocabulary=20000,
                          embedding=128, outputs=2, loss="cross_entropy", batch=64, train=4096, validation=1024,
                          min_steps=10, max_steps=200, epochs=3, learning_rate=1e-3, clip=1.0),
}


def sequences_a(rng, count, spec):
    """Eight noisy phase-shifted sines per sequence; the target is channel 0's next value."""
    steps, features = spec["max_steps"], spec["features"]
    t = np.arange(steps + 1)[None, :, None]
    frequency = rng.uniform(0.05, 0.3, (count, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (count, 1, features))
    amplitude = rng.uniform(0.5, 2.0, (count, 1, 1))
    wave = amplitude * np.sin(frequency * t + phase) + 0.1 * rng.standard_normal((count, steps + 1, features))
    inputs = wave[:, :steps, :].astype(np.float32)
    targets = wave[:, steps, 0].astype(np.float32)
    return [inputs[i] for i in range(count)], targets


def sequences_b(rng, count, spec):
    """A sine in noisy channels; the class is which of four frequency bands it lies in (and a channel's level)."""
    lengths = rng.integers(spec["min_steps"], spec["max_steps"] + 1, count)
    classes = rng.integers(0, spec["outputs"], count)
    inputs = []
    for length, label in zip(lengths, classes):
        t = np.arange(length)[:, None]
        frequency = 0.05 + 0.15 * label + rng.uniform(-0.02, 0.02)
        x = 0.3 * rng.standard_normal((length, spec["features"]))
        x[:, :2] += np.hstack([np.sin(frequency * t), np.cos(frequency * t)])
        x[:, 2] += 0.5 * (label - 1.5)  # and a level per class, which a few hundred steps of training find
        inputs.append(x.astype(np.float32))
    return inputs, classes.astype(np.int64)


def sequences_c(rng, count, spec):
    """Zipf-distributed words; the class is whether a text holds more of 50 'positive' than of 50 'negative' words."""
    vocabulary = spec["vocabulary"]
    ranks = np.arange(1, vocabulary)
    weights = 1.0 / ranks ** 1.1
    weights /= weights.sum()
    positive, negative = np.arange(100, 150), np.arange(150, 200)
    # Text lengths like short reviews: skewed towards short, clipped to 10-200 words.
    lengths = np.clip(rng.lognormal(np.log(60), 0.6, count).astype(np.int64), spec["min_steps"], spec["max_steps"])
    inputs, classes = [], []
    for length in lengths:
        words = rng.choice(ranks, size=length, p=weights)
        label = rng.integers(0, 2)
        cue = rng.choice(positive if label else negative, size=max(1, length // 15))
        words[rng.choice(length, size=len(cue), replace=False)] = cue
        inputs.append(words.astype(np.int64))
        classes.append(label)
    return inputs, np.array(classes, dtype=np.int64)


GENERATORS = {"a-lstm-fixed": sequences_a, "b-gru-variable": sequences_b, "c-text-bilstm": sequences_c}


def write(out_dir, scale=1.0):
    for index, (name, spec) in enumerate(WORKLOADS.items()):
        spec = dict(spec, name=name)
        spec["train"] = max(spec["batch"], int(spec["train"] * scale))
        spec["validation"] = max(spec["batch"], int(spec["validation"] * scale))
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        rng = np.random.default_rng(1000 + index)
        for part in ("train", "validation"):
            inputs, targets = GENERATORS[name](rng, spec[part], spec)
            np.array([len(x) for x in inputs], dtype=np.int64).tofile(os.path.join(folder, f"{part}_lengths.i64"))
            flat = np.concatenate([x.reshape(-1) for x in inputs])
            flat.tofile(os.path.join(folder, f"{part}_inputs.{'i64' if spec['vocabulary'] else 'f32'}"))
            targets.tofile(os.path.join(folder, f"{part}_targets.{'i64' if spec['loss'] == 'cross_entropy' else 'f32'}"))
        with open(os.path.join(folder, "workload.json"), "w") as file:
            json.dump(spec, file, indent=1)


def read(folder, part):
    """(spec, list of per-sequence arrays, targets) of one part of a written workload."""
    spec = json.load(open(os.path.join(folder, "workload.json")))
    lengths = np.fromfile(os.path.join(folder, f"{part}_lengths.i64"), dtype=np.int64)
    tokens = spec["vocabulary"] > 0
    flat = np.fromfile(os.path.join(folder, f"{part}_inputs.{'i64' if tokens else 'f32'}"),
                       dtype=np.int64 if tokens else np.float32)
    width = 1 if tokens else spec["features"]
    offsets = np.concatenate([[0], np.cumsum(lengths * width)])
    inputs = [flat[offsets[i]:offsets[i + 1]].reshape((-1,) if tokens else (-1, width)) for i in range(len(lengths))]
    classes = spec["loss"] == "cross_entropy"
    targets = np.fromfile(os.path.join(folder, f"{part}_targets.{'i64' if classes else 'f32'}"),
                          dtype=np.int64 if classes else np.float32)
    return spec, inputs, targets


if __name__ == "__main__":
    scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
    write(sys.argv[1], scale)
