#!/usr/bin/env bash
# Real labelled corpora, tried as a new user would: two text corpora (Jane Austen's novels, Debian's fortunes), two
# sequence datasets (scikit-learn's digits, mlbench's DNA splice junctions) and a labelling task (punctuation of the
# King James Bible), each trained through the HTTP API of a freshly started service with its default settings, scored
# on a held-out test split that nothing was chosen by, beside classical baselines fitted on the same training split.
#   bench/real-data/sequences.sh [VARIANTS] [ONLY]     (figures on stdout and in bench/results/sequences.json)
# VARIANTS and ONLY as bench/real-data/sequences.py takes them, e.g.
#   bench/real-data/sequences.sh '{"attention": {"model": {"pooling": "attention"}}}' austen,fortunes
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
source bench/real-data/service.sh
make_work
export_corpora "$work"

start_service "$work"
/usr/bin/python3 bench/real-data/sequences.py "http://127.0.0.1:$port" "$work" bench/results/sequences.json "${1:-}" "${2:-}"
