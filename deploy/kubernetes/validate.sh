#!/usr/bin/env bash
# Checks the Kubernetes manifests with no cluster at hand:
#   1. every object against its kind's JSON schema (kubernetes-models from the npm registry) and the references
#      between them (validate/validate.mjs);
#   2. when kubectl is on PATH, that kustomize renders the folder (kubectl kustomize, offline).
# kubectl apply --dry-run=client would need a cluster's API server for its schema, so it is not used here.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null 2>&1 || { echo "validate: Node.js and npm are required (Debian: apt-get install nodejs npm)" >&2; exit 1; }
(cd validate && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node validate/validate.mjs .
if command -v kubectl >/dev/null 2>&1; then
  rendered=$(kubectl kustomize .)
  echo "kubectl kustomize: $(grep -c '^kind:' <<<"$rendered") objects rendered, namespace rnnservice"
fi
