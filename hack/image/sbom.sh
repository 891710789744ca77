#!/usr/bin/env bash
# sbom.sh OUT.json: the operator's Software Bill of Materials (CycloneDX 1.5 JSON) from its crate
# graph, by cargo-cyclonedx (installed from crates.io when missing): every crate that can be
# compiled into the binary, for every target platform and with every feature, with its version,
# package URL, licence and checksum. Dev-dependencies (tests only) are not in it: they are not in
# the image. tests/image.rs checks it against Cargo.lock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out=${1:?usage: sbom.sh OUT.json}
log() { printf '[image/sbom.sh] %s\n' "$*" >&2; }
version=0.5.9
if ! cargo cyclonedx --version 2>/dev/null | grep -q " $version"; then
  log "installing cargo-cyclonedx $version from crates.io"
  cargo install cargo-cyclonedx --version "$version" --locked >&2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# cargo-cyclonedx writes beside each package's Cargo.toml: work on a copy of the manifests.
cp "$repo/Cargo.toml" "$repo/Cargo.lock" "$tmp/"
cp -r "$repo/src" "$repo/benches" "$repo/tests" "$tmp/" 2>/dev/null || true
mkdir -p "$tmp/emulator" && cp -r "$repo/emulator/Cargo.toml" "$repo/emulator/src" "$tmp/emulator/"
cp -r "$repo/emulator/tests" "$tmp/emulator/" 2>/dev/null || true
(cd "$tmp" && cargo cyclonedx --format json --spec-version 1.5 --target all --all-features \
  --override-filename sbom -q >&2)
mv "$tmp/sbom.json" "$out"
log "wrote $out ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("components", [])))' "$out") components)"
