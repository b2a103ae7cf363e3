#!/usr/bin/env bash
# Builds a release of terraform-provider-bankplatform and writes what
# Terraform's registry tooling expects, plus the filesystem and network
# mirror layouts a bank's internal mirror serves:
#
#   <out>/dist/terraform-provider-bankplatform_<V>_<os>_<arch>.zip   (the binary only, no directory entries)
#   <out>/dist/terraform-provider-bankplatform_<V>_manifest.json     (protocol_versions ["6.0"])
#   <out>/dist/terraform-provider-bankplatform_<V>_SHA256SUMS        (sha256sum format)
#   <out>/dist/terraform-provider-bankplatform_<V>_SHA256SUMS.sig    (detached binary GPG signature)
#   <out>/dist/signing-key.asc, signing-key.id                       (the public key and its id)
#
# and then publishes that version into <out>/mirror (or --mirror DIR, keeping
# the versions already there) with scripts/publish_mirror.py: the unpacked and
# packed filesystem mirrors, the network mirror and a static provider registry
# (see that script for the tree).
#
# Usage: scripts/release.sh [--out DIR] [--profile release|debug] [--binary PATH] [--mirror DIR]
#   --binary packages an already built binary (tests use the debug build).
# Signing: BP_GPG_KEY_ID (with GNUPGHOME pointing at its keyring) signs with a
# real key; otherwise a throwaway key is generated in <out>/gnupg (tests).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$repo/.work/release" profile=release binary="" mirror=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    *) echo "release.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out" && out="$(cd "$out" && pwd)"  # absolute: later steps cd
mirror="${mirror:-$out/mirror}"
V="$PROVIDER_VERSION" os=linux arch=amd64
name="terraform-provider-bankplatform"

if [ -z "$binary" ]; then
  if [ "$profile" = release ]; then
    cargo build -p terraform-provider-bankplatform --release --quiet
  else
    cargo build -p terraform-provider-bankplatform --quiet
  fi
  binary="$CARGO_TARGET_DIR/$profile/$name"
else
  profile="prebuilt $binary"
fi
[ -x "$binary" ] || { echo "release.sh: $binary is not an executable" >&2; exit 1; }

rm -rf "$out/dist" "$out/stage"
mkdir -p "$out/dist" "$out/stage"
exe="${name}_v${V}"
zipname="${name}_${V}_${os}_${arch}.zip"
cp "$binary" "$out/stage/$exe"
chmod 0755 "$out/stage/$exe"
# -j: no directories; -X: no extra attributes; so the zip's h1: equals the directory's.
(cd "$out/stage" && zip -q -j -X "$out/dist/$zipname" "$exe")
printf '{"version":1,"metadata":{"protocol_versions":["6.0"]}}\n' > "$out/dist/${name}_${V}_manifest.json"
(cd "$out/dist" && sha256sum "$zipname" "${name}_${V}_manifest.json" > "${name}_${V}_SHA256SUMS")

# Signing.
if [ -n "${BP_GPG_KEY_ID:-}" ]; then
  key="$BP_GPG_KEY_ID"
else
  export GNUPGHOME="$out/gnupg"
  # Made once per --out and reused; made again once expired (it lives one day).
  if [ -f "$GNUPGHOME/throwaway.id" ] && gpg --batch --with-colons --list-secret-keys "$(cat "$GNUPGHOME/throwaway.id")" 2>/dev/null \
      | awk -F: '/^sec/ {print $2}' | grep -q '^[er]$'; then
    rm -f "$GNUPGHOME/throwaway.id"
  fi
  if [ ! -f "$GNUPGHOME/throwaway.id" ]; then
    rm -rf "$GNUPGHOME" && mkdir -m 700 -p "$GNUPGHOME"
    gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-generate-key "bankplatform throwaway release key <release@bankplatform.invalid>" rsa3072 sign 1d
    gpg --batch --with-colons --list-keys | awk -F: '/^pub/ {print $5; exit}' > "$GNUPGHOME/throwaway.id"
  fi
  key="$(cat "$GNUPGHOME/throwaway.id")"
fi
gpg --batch --yes --quiet --no-auto-check-trustdb --local-user "$key" --detach-sign --output "$out/dist/${name}_${V}_SHA256SUMS.sig" "$out/dist/${name}_${V}_SHA256SUMS"
gpg --batch --armor --export "$key" > "$out/dist/signing-key.asc"
# The long key id, whatever form BP_GPG_KEY_ID names the key in (id, fingerprint, email).
gpg --batch --with-colons --list-keys "$key" | awk -F: '/^pub/ {print $5; exit}' > "$out/dist/signing-key.id"
# The throwaway keyring's agent would outlive this script.
[ -n "${BP_GPG_KEY_ID:-}" ] || gpgconf --kill gpg-agent 2>/dev/null || true

# Mirrors: every layout Terraform installs from, merged with versions already there.
python3 "$repo/scripts/publish_mirror.py" --dist "$out/dist" --mirror "$mirror"
rm -rf "$out/stage"
echo "release.sh: $V ($profile) in $out/dist, $(stat -c %s "$out/dist/$zipname") bytes zipped; published to $mirror"
