"""Writes scikit-learn's bundled handwritten digits (UCI, 1,797 images of 8x8) as JSON-lines sequences:
each image is read row by row, 8 steps of 8 pixel intensities, labelled with its digit."""
import json
import sys

from sklearn.datasets import load_digits

out = sys.argv[1] if len(sys.argv) > 1 else "digits.jsonl"
digits = load_digits()
with open(out, "w") as f:
    for image, label in zip(digits.images, digits.target):
        f.write(json.dumps({"sequence": image.tolist(), "label": int(label)}) + "\n")
