# infisical-oidc-operator: a statically linked binary in an image of its own files only (no base
# image, no shell), the same image hack/image/build.sh builds without a daemon (tests/image.rs checks
# that both have the same user, entrypoint, ports, labels and files).
#
#   docker build --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%FT%TZ) \
#     -t infisical-oidc-operator:dev .
#
# See docs/image.md.

ARG RUST_VERSION=1.89

# ---- build -------------------------------------------------------------------
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# A static glibc binary. --target makes RUSTFLAGS apply to the operator only, not to build
# scripts and proc macros (which cannot be static).
ENV RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_TERM_COLOR=never
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --target x86_64-unknown-linux-gnu --bin infisical-oidc-operator \
 && install -D -m 0755 target/x86_64-unknown-linux-gnu/release/infisical-oidc-operator /out/infisical-oidc-operator \
 && if readelf -l /out/infisical-oidc-operator | grep -q INTERP || readelf -d /out/infisical-oidc-operator | grep -q NEEDED; \
    then echo "infisical-oidc-operator is not statically linked" >&2; exit 1; fi

# ---- runtime -----------------------------------------------------------------
FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="infisical-oidc-operator" \
      org.opencontainers.image.description="Kubernetes operator for Infisical OIDC SSO configuration" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/infisical-oidc-operator/infisical-oidc-operator" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}"
ENV PATH=/ \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY hack/image/rootfs/etc/passwd hack/image/rootfs/etc/group hack/image/rootfs/etc/nsswitch.conf /etc/
COPY --from=builder /out/infisical-oidc-operator /infisical-oidc-operator
USER 65532:65532
EXPOSE 8080/tcp
ENTRYPOINT ["/infisical-oidc-operator"]
