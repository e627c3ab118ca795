"""Real labelled corpora through RnnService's HTTP API, scored on held-out data against classical baselines that this
script computes on the same split.

Each corpus comes as NAME.train.jsonl (uploaded; the service holds out its own validation share of it, which picks the
epoch) and NAME.test.jsonl (never seen by the service or the baselines until scoring). Every job says only its task kind,
plus the model settings a variant names; everything else is the service's default.

Baselines, fitted on the training file only:
- texts: multinomial naive Bayes on a bag of words (scikit-learn, alpha 1);
- sequences: Gaussian naive Bayes and logistic regression on the flattened steps (scikit-learn);
- labelling: each token's most frequent label in the training file (the "most frequent tag" baseline of tagging),
  the overall most frequent label for unseen tokens.

Usage: python3 sequences.py BASE_URL DATA_DIR RESULTS_JSON [VARIANTS] [ONLY]
VARIANTS: JSON, {"texts" | "sequences" | "labelling": {"name": {"model": {...}, "training": {...}, "task": {...}}, ...}}:
settings to try on each corpus of that group besides the defaults (e.g. {"texts": {"mean": {"model": {"pooling":
"mean"}}}}); default: the variants README's table shows. ONLY: comma-separated corpora to run (default: all).
"""
import json
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.naive_bayes import GaussianNB, MultinomialNB

from service_api import Service

base, data, results_path = sys.argv[1], sys.argv[2], sys.argv[3]
# The comparisons README's table shows: the other poolings for texts, both directions for sequences and labelling.
variants = json.loads(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else {
    "texts": {"last": {"model": {"pooling": "last"}}, "mean": {"model": {"pooling": "mean"}}},
    "sequences": {"bidirectional": {"model": {"bidirectional": True}}},
    "labelling": {"unidirectional": {"model": {"bidirectional": False}}},
}
only = set(sys.argv[5].split(",")) if len(sys.argv) > 5 and sys.argv[5] else None
service = Service(base)


def load(name, part):
    with open(f"{data}/{name}.{part}.jsonl") as f:
        return [json.loads(line) for line in f]


results = []


def record(corpus, kind, variant, job, started, scores, baselines):
    entry = {"corpus": corpus, "task": kind, "variant": variant, "state": job["state"], "error": job.get("error"),
             "epochs": job["progress"]["epoch"] if job.get("progress") else 0,
             "bestEpoch": job["progress"].get("bestEpoch") if job.get("progress") else None,
             "stoppedBy": job.get("stoppedBy"), "seconds": round(time.time() - started, 1), "request": job["request"],
             "validation": job.get("metrics"), "test": scores, "baselines": baselines}
    results.append(entry)
    shown = "  ".join(f"{k} {v:.3f}" for k, v in scores.items())
    base_shown = "  ".join(f"{k} {v:.3f}" for k, v in baselines.items())
    print(f"{corpus:16} {variant:10} {job['state']:9} epochs {entry['epochs']:3} (best {entry['bestEpoch']})  test: {shown}  |  {base_shown}"
          f"  ({entry['seconds']} s)", flush=True)
    with open(results_path, "w") as f:
        json.dump(results, f, indent=2)


def class_scores(truth, predicted):
    return {"accuracy": accuracy_score(truth, predicted), "macroF1": f1_score(truth, predicted, average="macro")}


def wanted(corpus):
    return only is None or corpus in only


def run_all(corpus, group, kind, field, inputs, truth, labels_of, baselines):
    """Uploads the training file, trains the defaults and each variant of the group, scores each on the held-out inputs."""
    dataset = service.upload(f"{data}/{corpus}.train.jsonl")
    for variant, settings in [("default", None)] + list(variants.get(group, {}).items()):
        started = time.time()
        name = f"{corpus}-{variant}"
        job = service.train(dataset, name, {"kind": kind}, settings)
        scores = {}
        if job["state"] == "succeeded":
            scores = class_scores(truth, labels_of(service.predict(name, field, inputs)))
        record(corpus, kind, variant, job, started, scores, baselines)


def one_label_each(outputs):
    return [int(o["label"]) for o in outputs]


# Texts: naive Bayes, then the default model and the variants.
for corpus in filter(wanted, ["austen", "fortunes"]):
    train_rows, test_rows = load(corpus, "train"), load(corpus, "test")
    vectorizer = CountVectorizer(token_pattern=r"\w+|[^\w\s]", lowercase=True)
    nb = MultinomialNB().fit(vectorizer.fit_transform([r["text"] for r in train_rows]), [r["label"] for r in train_rows])
    truth = [r["label"] for r in test_rows]
    baseline = class_scores(truth, nb.predict(vectorizer.transform([r["text"] for r in test_rows])))
    baselines = {"naiveBayesAccuracy": baseline["accuracy"], "naiveBayesMacroF1": baseline["macroF1"]}
    run_all(corpus, "texts", "classification", "texts", [r["text"] for r in test_rows], truth, one_label_each, baselines)

# Sequences: naive Bayes and logistic regression on the flattened steps.
for corpus in filter(wanted, ["digits", "dna"]):
    train_rows, test_rows = load(corpus, "train"), load(corpus, "test")
    flat = lambda rows: np.array([np.ravel(r["sequence"]) for r in rows], dtype=float)  # noqa: E731
    x_train, x_test = flat(train_rows), flat(test_rows)
    y_train, truth = [r["label"] for r in train_rows], [r["label"] for r in test_rows]
    nb = class_scores(truth, GaussianNB().fit(x_train, y_train).predict(x_test))
    logistic = class_scores(truth, LogisticRegression(max_iter=5000).fit(x_train, y_train).predict(x_test))
    baselines = {"naiveBayesAccuracy": nb["accuracy"], "logisticAccuracy": logistic["accuracy"]}
    run_all(corpus, "sequences", "classification", "inputs", [r["sequence"] for r in test_rows], truth, one_label_each, baselines)

# Labelling: punctuation restored word by word; the most frequent label of each word as the baseline.
corpus = "kjv-punctuation"
if wanted(corpus):
    train_rows, test_rows = load(corpus, "train"), load(corpus, "test")
    counts, overall = {}, {}
    for row in train_rows:
        for token, label in zip(row["tokens"], row["labels"]):
            counts.setdefault(token, {}).setdefault(label, 0)
            counts[token][label] += 1
            overall[label] = overall.get(label, 0) + 1
    majority = max(overall, key=overall.get)
    truth = [label for row in test_rows for label in row["labels"]]
    frequent = [max(counts[t], key=counts[t].get) if t in counts else majority for row in test_rows for t in row["tokens"]]
    baseline = class_scores(truth, frequent)
    baselines = {"frequentLabelAccuracy": baseline["accuracy"], "frequentLabelMacroF1": baseline["macroF1"],
                 "majorityAccuracy": accuracy_score(truth, [majority] * len(truth))}
    run_all(corpus, "labelling", "labelling", "tokens", [r["tokens"] for r in test_rows], truth,
            lambda outputs: [int(label) for o in outputs for label in o["labels"]], baselines)

# A table for README: held-out scores beside the baselines, every run.
print("\n| corpus | task | settings | epochs (best) | held-out accuracy | macro F1 | baselines (held-out accuracy) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in results:
    shown = ", ".join(f"{k} {v:.3f}" for k, v in r["baselines"].items() if "Accuracy" in k)
    test = r["test"] or {}
    print(f"| {r['corpus']} | {r['task']} | {r['variant']} | {r['epochs']} ({r['bestEpoch']}) | {test.get('accuracy', float('nan')):.3f} "
          f"| {test.get('macroF1', float('nan')):.3f} | {shown} |")
sys.exit(0 if all(r["state"] == "succeeded" for r in results) else 1)
