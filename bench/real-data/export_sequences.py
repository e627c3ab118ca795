"""Writes the real labelled corpora of bench/real-data/sequences.sh as the JSON lines RnnService takes, each split once,
seeded, into a training file (the service holds out its own validation share of it) and a held-out test file that no
choice is made by.

    export_sequences.py OUT_DIR AUSTEN_CSV DNA_CSV

- austen: sentences of 12-40 words from Jane Austen's six novels (R package janeaustenr), labelled by novel: 1,000 a
  novel, 6 classes.
- fortunes: fortune cookies of 5-60 words from six categories of Debian's `fortunes` (/usr/share/games/fortunes),
  labelled by category: up to 500 a category.
- digits: scikit-learn's bundled UCI handwritten digits, each 8x8 image read row by row (8 steps of 8 pixels).
- dna: the UCI primate splice-junction sequences (R package mlbench, `DNA`): 60 nucleotides, each 3 indicator features
  as mlbench encodes them, labelled exon/intron boundary (ei), intron/exon (ie) or neither (n).
- kjv-punctuation: verses of the King James Bible (Debian's `bible-kjv`), lower-cased words without punctuation, each word
  labelled by what follows it: nothing (0), a comma (1), a colon or semicolon (2), or a full stop, question or
  exclamation mark (3). Restoring punctuation is sequence labelling: one label per token.
Test shares: 20% of each corpus, stratified by class where there are classes.
"""
import csv
import json
import os
import random
import re
import subprocess
import sys

out, austen_csv, dna_csv = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
TEST_SHARE = 0.2


def write(name, rows):
    with open(os.path.join(out, name), "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def split(rows, key, seed):
    """Stratified by `key` (None: not stratified): (train, test), each shuffled."""
    random.seed(seed)
    groups = {}
    for row in rows:
        groups.setdefault(key(row) if key else 0, []).append(row)
    train, test = [], []
    for group in groups.values():
        random.shuffle(group)
        cut = round(len(group) * TEST_SHARE)
        test += group[:cut]
        train += group[cut:]
    random.shuffle(train)
    random.shuffle(test)
    return train, test


def save(name, rows, key, seed):
    train, test = split(rows, key, seed)
    write(f"{name}.train.jsonl", train)
    write(f"{name}.test.jsonl", test)
    print(f"{name}: {len(train)} training, {len(test)} test", file=sys.stderr)


def words(text):
    return re.findall(r"[A-Za-z0-9']+", text)


# Jane Austen: the lines of each novel joined, cut into sentences.
books = {}
with open(austen_csv, newline="") as f:
    for row in csv.DictReader(f):
        books.setdefault(row["book"], []).append(row["text"])
random.seed(1)
austen = []
for label, (book, lines) in enumerate(sorted(books.items())):
    text = re.sub(r"\s+", " ", " ".join(lines))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 12 <= len(words(s)) <= 40 and not s.isupper()]
    random.shuffle(sentences)
    austen += [{"text": s, "label": label} for s in sentences[:1000]]
save("austen", austen, lambda r: r["label"], 2)

# Fortunes: six categories of Debian's fortunes package.
categories = ["computers", "men-women", "people", "politics", "science", "work"]
fortunes = []
for label, category in enumerate(categories):
    with open(f"/usr/share/games/fortunes/{category}", encoding="utf-8", errors="replace") as f:
        entries = [re.sub(r"\s+", " ", e).strip() for e in f.read().split("\n%\n")]
    entries = [e for e in entries if 5 <= len(words(e)) <= 60]
    random.shuffle(entries)
    fortunes += [{"text": e, "label": label} for e in entries[:500]]
save("fortunes", fortunes, lambda r: r["label"], 3)

# Digits: 8 steps of 8 pixels.
from sklearn.datasets import load_digits  # noqa: E402

digits = load_digits()
save("digits", [{"sequence": image.reshape(8, 8).tolist(), "label": int(target)}
                for image, target in zip(digits.images, digits.target)], lambda r: r["label"], 4)

# DNA splice junctions: 60 steps of 3 indicator features.
classes = {"ei": 0, "ie": 1, "n": 2}
dna = []
with open(dna_csv, newline="") as f:
    for row in csv.DictReader(f):
        bits = [int(row[f"V{i}"]) for i in range(1, 181)]
        dna.append({"sequence": [bits[3 * t:3 * t + 3] for t in range(60)], "label": classes[row["Class"]]})
save("dna", dna, lambda r: r["label"], 5)

# KJV punctuation: every verse of the Bible, 6,000 for training and 1,500 held out, drawn at random.
text = subprocess.run(["bible", "-l100000", "Genesis 1:1-Revelation 22:21"], capture_output=True, text=True, check=True).stdout
verses = []
for line in text.splitlines():
    match = re.match(r"^\s+\d+ (.+)$", line)
    if not match:
        continue
    tokens, labels = [], []
    for piece in match.group(1).split():
        word = re.sub(r"[^A-Za-z']", "", piece).lower()
        if not word:
            continue
        tokens.append(word)
        labels.append(3 if re.search(r"[.?!]\W*$", piece) else 2 if re.search(r"[;:]\W*$", piece)
                      else 1 if re.search(r",\W*$", piece) else 0)
    if 3 <= len(tokens) <= 60:
        verses.append({"tokens": tokens, "labels": labels})
random.seed(6)
random.shuffle(verses)
train, test = verses[:6000], verses[6000:7500]
write("kjv-punctuation.train.jsonl", train)
write("kjv-punctuation.test.jsonl", test)
print(f"kjv-punctuation: {len(train)} training, {len(test)} test", file=sys.stderr)
