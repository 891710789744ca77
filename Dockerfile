# infisical-oidc-operator: a statically linked binary on distroless/static (non-root, no shell).
#
#   docker build -t infisical-oidc-operator:dev .        (or: buildah bud -t ... .)
#
# See docs/image.md for what was verified on the development machine.

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
 && (ldd /out/infisical-oidc-operator 2>&1 | grep -Eq 'statically linked|not a dynamic executable' \
     || (echo "infisical-oidc-operator is not statically linked" >&2; exit 1))

# ---- runtime -----------------------------------------------------------------
# distroless/static: no shell or package manager, but CA certificates (for https to
# Infisical), tzdata and a nonroot user (65532). Bare `scratch` would need the CA bundle
# copied in: COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="infisical-oidc-operator" \
      org.opencontainers.image.description="Kubernetes operator for Infisical OIDC SSO configuration" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/infisical-oidc-operator/infisical-oidc-operator"
COPY --from=builder --chown=65532:65532 /out/infisical-oidc-operator /infisical-oidc-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/infisical-oidc-operator"]
