"""PyTorch reference for serving parity through HTTP: models built and run in PyTorch, imported through the API.

    serving_reference.py generate DIR      writes, per case, DIR/<case>.pt (torch.save(model.state_dict())) and
                                           DIR/<case>.json: the import spec, the sequences (lengths 1 to 300, mixed),
                                           and what PyTorch answers for them: probabilities or values, and the
                                           top layer's per-step states of each sequence
    serving_reference.py compare A.pt B.pt prints, as JSON, whether B (exported by the service) holds the same keys,
                                           in the same order, with identical tensors as A
"""
import json
import os
import sys

import torch

from pytorch_reference import SequenceModel

LENGTHS = [1, 300, 2, 17, 3, 150, 64, 5, 255, 31, 1, 100, 8, 200, 12]
CASES = {
    # name: (cell, layers, bidirectional, vocabulary, input size, hidden, outputs, task, pooling)
    "lstm-bi-features": ("lstm", 2, True, 0, 3, 12, 2, "regression", "last"),
    "gru-bi-embedding": ("gru", 2, True, 40, 6, 10, 3, "classification", "last"),
    "lstm-embedding": ("lstm", 1, False, 25, 5, 8, 4, "classification", "last"),
    "gru-features": ("gru", 1, False, 0, 2, 9, 1, "regression", "last"),
    "lstm-bi-features-attention": ("lstm", 2, True, 0, 3, 12, 2, "regression", "attention"),
    "gru-embedding-mean": ("gru", 1, False, 40, 6, 10, 3, "classification", "mean"),
    "rnn-bi-features-max": ("rnn", 2, True, 0, 2, 7, 1, "regression", "max"),
    # labelling: a class at every step
    "gru-bi-embedding-labelling": ("gru", 2, True, 40, 6, 10, 3, "labelling", "last"),
}


def generate(directory):
    os.makedirs(directory, exist_ok=True)
    for index, (name, (cell, layers, bidirectional, vocabulary, width, hidden, outputs, task, pooling)) in enumerate(CASES.items()):
        spec = {"cell": cell, "numLayers": layers, "bidirectional": bidirectional, "dropout": 0.0, "inputSize": width,
                "hiddenSize": hidden, "outputSize": outputs, "vocabularySize": vocabulary, "pooling": pooling,
                "perStep": task == "labelling"}
        torch.manual_seed(300 + index)
        model = SequenceModel(spec).eval()
        generator = torch.Generator().manual_seed(400 + index)
        if vocabulary:
            sequences = [torch.randint(1, vocabulary, (n,), generator=generator) for n in LENGTHS]
        else:
            sequences = [torch.randn(n, width, generator=generator) for n in LENGTHS]
        padded = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True)
        with torch.no_grad():
            head, states = model(padded, torch.tensor(LENGTHS))
        if task == "labelling":  # each sequence's rows at its real steps
            answers = [torch.softmax(head[i, :n], dim=1).tolist() for i, n in enumerate(LENGTHS)]
        else:
            answers = (torch.softmax(head, dim=1) if task == "classification" else head).tolist()
        torch.save(model.state_dict(), os.path.join(directory, name + ".pt"))
        with open(os.path.join(directory, name + ".json"), "w") as f:
            json.dump({
                "name": name,
                # mean and max look like the last state in a state_dict, so the import says which; attention is read from
                # attention.weight
                "spec": {"task": {"kind": task},
                         "model": {"cell": cell, **({"pooling": pooling} if pooling in ("mean", "max") else {})}},
                "inputs": [s.tolist() for s in sequences],
                "answers": answers,
                "states": [states[i, :n].tolist() for i, n in enumerate(LENGTHS)],
                "hiddenSize": hidden,
            }, f)


def compare(original, exported):
    a, b = torch.load(original), torch.load(exported)
    same_keys = list(a.keys()) == list(b.keys())
    identical = same_keys and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)
    json.dump({"sameKeys": same_keys, "identical": identical, "type": type(b).__name__}, sys.stdout)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "generate":
        generate(sys.argv[2])
    else:
        compare(sys.argv[2], sys.argv[3])
