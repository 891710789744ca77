#!/usr/bin/env bash
# build.sh: the operator's container image, without a daemon or a base image, reproducibly.
#
#   1. a statically linked release binary (glibc, `-C target-feature=+crt-static` with `--target`, so
#      build scripts and proc macros stay dynamic), checked to be static;
#   2. an OCI image layout (hack/image/oci.py): the binary, Debian's CA bundle, passwd/group/nsswitch
#      (hack/image/rootfs), user 65532, port 8080, the OCI labels; the creation time and every file's
#      time is SOURCE_DATE_EPOCH (default: the commit's time), so one commit gives one digest;
#   3. an SBOM of the crate graph (CycloneDX, cargo-cyclonedx) beside it.
#
# Writes to IMAGE_OUT (default .work/image): layout/ (OCI image layout), image.tar (the same as one
# archive, for `kind load image-archive` or `ctr images import`), digest (sha256:...), ref, and
# infisical-oidc-operator.cdx.json. Prints the directory on stdout; logs on stderr.
#
# Knobs: IMAGE_NAME (default infisical-oidc-operator), IMAGE_TAG (default the crate version),
# SOURCE_DATE_EPOCH, IMAGE_SKIP_BUILD=1 (package the binary already built), IMAGE_SKIP_SBOM=1.
# The Dockerfile builds the same image for users with Docker; tests/image.rs checks they agree.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
log() { printf '[image/build.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

target=x86_64-unknown-linux-gnu
version="$(sed -nE 's/^version = "([^"]+)"$/\1/p' Cargo.toml | head -1)"
name="${IMAGE_NAME:-infisical-oidc-operator}"
tag="${IMAGE_TAG:-$version}"
out="${IMAGE_OUT:-$repo/.work/image}"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
created="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || die "$ca_bundle is missing (apt-get install ca-certificates)"

target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
binary="$target_dir/$target/release/infisical-oidc-operator"
if [ "${IMAGE_SKIP_BUILD:-0}" != 1 ]; then
  log "building the static release binary (--target $target)"
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin infisical-oidc-operator >&2
fi
[ -x "$binary" ] || die "$binary is missing"
# Static (or static-pie): no program interpreter and no shared library needed.
if readelf -l "$binary" | grep -q INTERP || readelf -d "$binary" | grep -q NEEDED; then
  die "$binary is not statically linked"
fi

mkdir -p "$out"
digest="$(python3 "$here/oci.py" --out "$out/layout" --archive "$out/image.tar" --name "$name" --tag "$tag" \
  --created "$created" --user 65532:65532 --entrypoint '["/infisical-oidc-operator"]' --expose 8080/tcp \
  --env PATH=/ --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.title=infisical-oidc-operator \
  --label "org.opencontainers.image.description=Kubernetes operator for Infisical OIDC SSO configuration" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  --label org.opencontainers.image.source=https://github.com/infisical-oidc-operator/infisical-oidc-operator \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.created=$(date -u -d "@$created" +%Y-%m-%dT%H:%M:%SZ)" \
  --file "$binary:/infisical-oidc-operator:755" \
  --file "$ca_bundle:/etc/ssl/certs/ca-certificates.crt:644" \
  --file "$here/rootfs/etc/passwd:/etc/passwd:644" \
  --file "$here/rootfs/etc/group:/etc/group:644" \
  --file "$here/rootfs/etc/nsswitch.conf:/etc/nsswitch.conf:644")"
echo "$digest" > "$out/digest"
echo "$name:$tag" > "$out/ref"
log "image $name:$tag $digest ($(du -k "$out/image.tar" | cut -f1) KiB)"

if [ "${IMAGE_SKIP_SBOM:-0}" != 1 ]; then
  bash "$here/sbom.sh" "$out/infisical-oidc-operator.cdx.json"
fi
echo "$out"
