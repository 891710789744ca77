#!/usr/bin/env bash
# install.sh: makes OpenLDAP's slapd (and the ldapsearch/ldapadd/... client tools) from Debian's own
# packages available to the tests, without a system slapd, and prints the folder that holds them on
# stdout (logs go to stderr). The tests start a private slapd per test from that folder
# (tests/support/ldap.rs): `<dir>/bin/slapd` (a wrapper that finds slapd's own library), the
# backend modules in `<dir>/usr/lib/ldap`, the schemas in `<dir>/etc/ldap/schema`.
#
#   SLAPD_DIR   where to put it (default: a cache folder keyed by this script's hash,
#               ${XDG_CACHE_HOME:-$HOME/.cache}/infisical-oidc-operator/slapd-<hash>)
#
# Why not `apt-get install slapd`: its postinst creates a system directory (/etc/ldap/slapd.d for
# dc=nodomain, with a debconf-generated admin password, and /var/lib/ldap), an `openldap` system
# user, /etc/default/slapd and init links (update-rc.d), then runs `invoke-rc.d slapd start`: a
# global slapd on ldap:///, port 389, wherever no policy-rc.d forbids it (this project's machine
# image has one that exits 101; a developer's Debian does not). So this script only
# `apt-get download`s the slapd and ldap-utils packages and unpacks them with `dpkg-deb -x` into
# the cache folder: no maintainer script runs. The only global change is `apt-get install` of the
# shared libraries slapd links against: libltdl7 and libwrap0, which a minimal Debian lacks, and
# libldap-2.5-0 at slapd's own version (slapd depends on exactly that one). Plain libraries: no
# daemon, no configuration.
#
# Idempotent: prints the folder at once when it is complete and slapd's libraries resolve. Runs
# `apt-get update` only when apt knows no slapd package or its lists are stale. Needs root (or
# sudo) for apt-get.
# Debian bookworm (OpenLDAP 2.5).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { echo "ldap/install.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ldap_lib=libldap-2.5-0        # slapd depends on exactly its own version of this library
other_libs=(libltdl7 libwrap0) # what else slapd and its mdb backend link

hash="$(sha256sum "$here/install.sh" | cut -c1-12)"
out="${SLAPD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infisical-oidc-operator/slapd-$hash}"

# The installed version of a package, or nothing.
installed_version() {
  { dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || true; } |
    sed -n 's/^installed //p'
}

# Complete: the wrapper (moved in last) runs slapd, the installed libldap is still slapd's version,
# and neither slapd nor the mdb backend misses a library (an apt-get upgrade or remove can change
# either while the cache stays).
complete() {
  [ -x "$out/bin/slapd" ] || return 1
  [ "$(cat "$out/VERSION" 2>/dev/null)" = "$(installed_version "$ldap_lib")" ] || return 1
  local libdir
  libdir="$(cat "$out/libdir")" || return 1
  local linked
  linked="$(LD_LIBRARY_PATH="$libdir" ldd "$out/usr/sbin/slapd" "$out/usr/lib/ldap/back_mdb.so" 2>&1)" ||
    return 1
  [[ "$linked" != *"not found"* ]]
}

if complete; then
  log "up to date in $out"
  echo "$out"
  exit 0
fi

mkdir -p "$out"
# nextest runs each test in its own process: the first one installs, the others wait here for it.
exec 9>"$out/.lock"
flock 9
if complete; then
  log "installed meanwhile in $out"
  echo "$out"
  exit 0
fi
start=$SECONDS

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 && SUDO="sudo" || die "run as root (or install sudo) for apt-get"
fi
candidate() {
  local policy
  policy="$(apt-cache policy slapd 2>/dev/null || true)"
  [[ "$policy" =~ Candidate:\ ([^[:space:]]+) ]] && [ "${BASH_REMATCH[1]}" != "(none)" ] &&
    echo "${BASH_REMATCH[1]}"
}

# The libraries, with libldap at the slapd version apt offers (slapd needs exactly that one).
install_libs() {
  local version="$1" missing=() p
  [ "$(installed_version "$ldap_lib")" = "$version" ] || missing+=("$ldap_lib=$version")
  for p in "${other_libs[@]}"; do
    [ -n "$(installed_version "$p")" ] || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "apt-get install ${missing[*]} (shared libraries only)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

download() {
  local version="$1"
  log "apt-get download slapd=$version ldap-utils=$version"
  # As the user running this script: apt's _apt sandbox user cannot reach a folder under /root.
  (cd "$tmp" && $SUDO apt-get download -qq -o APT::Sandbox::User=root \
    "slapd=$version" "ldap-utils=$version" >/dev/null)
}

# Unpack into a temporary folder and move into place, so an interrupted install never leaves a
# half-unpacked folder that a later run would take as done.
tmp="$(mktemp -d "$out/.install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# apt's package lists may be missing (a new machine) or stale (the mirror has moved on to a newer
# version): either way, one `apt-get update` and a second try.
version="$(candidate || true)"
if [ -z "$version" ] || ! { install_libs "$version" && download "$version"; }; then
  log "apt-get update"
  $SUDO apt-get update -qq
  version="$(candidate)" || die "apt offers no slapd package: not Debian bookworm?"
  install_libs "$version"
  download "$version"
fi
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
rm -rf "$tmp/root/usr/share/doc" "$tmp/root/usr/share/man"

libslapi="$(find "$tmp/root/usr/lib" -name 'libslapi-*.so.0' -print -quit)"
[ -n "$libslapi" ] || die "the slapd package has no libslapi: not Debian bookworm's layout?"
libdir="$out/${libslapi#"$tmp/root/"}"
libdir="${libdir%/*}"

mkdir -p "$tmp/root/bin"
# A wrapper, not a symlink: slapd needs its own libslapi, which is not on the loader's path.
# `exec` keeps the pid, so whoever started the wrapper can stop slapd by that pid.
cat >"$tmp/root/bin/slapd" <<EOF
#!/bin/sh
# slapd $version from Debian's package, unpacked by hack/ldap/install.sh (slapadd: slapd -T add).
LD_LIBRARY_PATH="$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$out/usr/sbin/slapd" "\$@"
EOF
chmod +x "$tmp/root/bin/slapd"
for tool in ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami ldappasswd; do
  ln -s "../usr/bin/$tool" "$tmp/root/bin/$tool"
done
echo "$libdir" >"$tmp/root/libdir"
echo "$version" >"$tmp/root/VERSION"

rm -rf "$out/usr" "$out/etc" "$out/bin"
mv "$tmp/root/usr" "$tmp/root/etc" "$tmp/root/libdir" "$tmp/root/VERSION" "$out/"
mv "$tmp/root/bin" "$out/"
complete || die "slapd in $out misses a library: $(LD_LIBRARY_PATH="$libdir" ldd "$out/usr/sbin/slapd" "$out/usr/lib/ldap/back_mdb.so" | grep 'not found' | tr -s ' \t' ' ')"
log "slapd $version in $out ($((SECONDS - start))s)"
echo "$out"
