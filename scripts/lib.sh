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
