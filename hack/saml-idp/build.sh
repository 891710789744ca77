#!/usr/bin/env bash
# build.sh: builds the saml-idp test program (a real SAML identity provider, see main.go)
# from this Go module and prints the directory that holds it on stdout (logs go to stderr).
#
#   SAML_IDP_BIN_DIR   where to put it (default: a cache folder keyed by the sources' hash,
#                      ${XDG_CACHE_HOME:-$HOME/.cache}/infisical-oidc-operator/saml-idp-<hash>)
#
# Skips the build when the binary already exists there. Needs Go >= 1.26.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { echo "saml-idp/build.sh: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "go is not installed (need Go >= 1.26 on PATH to build the saml-idp test program)"
  exit 1
fi
# Stay on the installed toolchain: go.mod asks for nothing newer, and no download is wanted.
export GOTOOLCHAIN=local
version="$(go env GOVERSION)"   # e.g. go1.26.8
if ! [[ "$version" =~ ^go([0-9]+)\.([0-9]+) ]] ||
  ((BASH_REMATCH[1] < 1 || (BASH_REMATCH[1] == 1 && BASH_REMATCH[2] < 26))); then
  log "Go $version is too old: hack/saml-idp needs Go >= 1.26"
  exit 1
fi

# The hash covers everything the build reads from this folder.
hash="$(
  cd "$here"
  { printf '%s\n' go.mod go.sum; find . -name '*.go' -type f | LC_ALL=C sort; } |
    while read -r f; do printf '%s\n' "$f"; cat "$f"; done | sha256sum | cut -c1-12
)"
out="${SAML_IDP_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infisical-oidc-operator/saml-idp-$hash}"

if [ -x "$out/saml-idp" ]; then
  log "up to date in $out"
  echo "$out"
  exit 0
fi

mkdir -p "$out"
# nextest runs each test in its own process: the first one builds, the others wait here for it.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/.lock"
  flock 9
  if [ -x "$out/saml-idp" ]; then
    log "built meanwhile in $out"
    echo "$out"
    exit 0
  fi
else
  log "flock not found: parallel callers may each build (harmless, the last one wins)"
fi
start=$SECONDS
log "building saml-idp with $version into $out"
# Build into a temporary folder and move into place, so a concurrent or interrupted build never
# leaves a half-written binary that a later run would take as done.
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
  cd "$here"
  go build -trimpath -o "$tmp/saml-idp" .
)
mv -f "$tmp/saml-idp" "$out/"
log "built in $((SECONDS - start))s"
echo "$out"
