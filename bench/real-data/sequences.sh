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
# The data: R's janeaustenr and mlbench, Debian's fortunes and bible-kjv, scikit-learn's bundled digits.
missing=()
command -v Rscript > /dev/null || missing+=(r-base-core)
[ -d /usr/lib/R/site-library/janeaustenr ] || missing+=(r-cran-janeaustenr)
[ -d /usr/lib/R/site-library/mlbench ] || missing+=(r-cran-mlbench)
[ -f /usr/share/games/fortunes/computers ] || missing+=(fortunes)
command -v bible > /dev/null || missing+=(bible-kjv)
/usr/bin/python3 -c "import sklearn" 2> /dev/null || missing+=(python3-sklearn)
install_missing ${missing[@]+"${missing[@]}"}

make_work
Rscript -e 'args <- commandArgs(TRUE); library(janeaustenr); library(mlbench); data(DNA)
            write.csv(austen_books(), file.path(args[1], "austen.csv"), row.names = FALSE)
            write.csv(DNA, file.path(args[1], "dna.csv"), row.names = FALSE)' "$work" > /dev/null
/usr/bin/python3 bench/real-data/export_sequences.py "$work" "$work/austen.csv" "$work/dna.csv"

start_service "$work"
/usr/bin/python3 bench/real-data/sequences.py "http://127.0.0.1:$port" "$work" bench/results/sequences.json "${1:-}" "${2:-}"
