#!/usr/bin/env bash
# Tuning jobs with the default search space against the defaults, on the forecast series (the last year held out) and
# the sequence corpora (their test files): see tune.py. Figures on stdout and in bench/results/tuning.json.
#   bench/tuning/run.sh                      # ONLY=co2,digits MAX_TRIALS=20 MODES=asha,none narrow it
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
source bench/real-data/service.sh
missing=()
command -v Rscript > /dev/null || missing+=(r-base-core)
[ -d /usr/lib/R/site-library/janeaustenr ] || missing+=(r-cran-janeaustenr)
[ -d /usr/lib/R/site-library/mlbench ] || missing+=(r-cran-mlbench)
[ -f /usr/share/games/fortunes/computers ] || missing+=(fortunes)
command -v bible > /dev/null || missing+=(bible-kjv)
/usr/bin/python3 -c "import sklearn" 2> /dev/null || missing+=(python3-sklearn)
install_missing ${missing[@]+"${missing[@]}"}

make_work
mkdir -p "$work/series"
Rscript bench/forecast/export.R "$work/series"
Rscript -e 'args <- commandArgs(TRUE); library(janeaustenr); library(mlbench); data(DNA)
            write.csv(austen_books(), file.path(args[1], "austen.csv"), row.names = FALSE)
            write.csv(DNA, file.path(args[1], "dna.csv"), row.names = FALSE)' "$work" > /dev/null
/usr/bin/python3 bench/real-data/export_sequences.py "$work" "$work/austen.csv" "$work/dna.csv"
start_service "$work"
/usr/bin/python3 bench/tuning/tune.py "http://127.0.0.1:$port" "$work" bench/results/tuning.json
