#!/usr/bin/env bash
# Installs everything Atelier needs to build, serve and test, skipping what is already there.
# Safe to run again: every step checks first. A failed step says which one and how to fix it.
#
# Needs: rustup with a stable toolchain, and either root on Debian/Ubuntu (apt) or the tools already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TRUNK_VERSION="0.22.1"
BINARYEN_VERSION="132"
DATA_DIR="$ROOT/static/data"
DEBIAN_DATA="/usr/share/datasets/fashion-mnist"
# The official Fashion-MNIST download location (Zalando Research), used where the Debian package is not.
OFFICIAL_DATA="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
# SHA-256 of the *decompressed* files: the Debian package recompresses them, so the .gz bytes differ from
# the official ones while their content is identical.
declare -A DATA_SHA256=(
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)

step() { printf '\n==> setup: %s\n' "$*"; }
fail() {
  printf '\nsetup FAILED at step "%s": %s\n' "$CURRENT_STEP" "$1" >&2
  exit 1
}
CURRENT_STEP="start"
trap 'fail "command exited with status $? (see the output above)"' ERR

have() { command -v "$1" >/dev/null 2>&1; }
SUDO=""
if [ "$(id -u)" != 0 ] && have sudo; then SUDO="sudo"; fi
apt_install() {
  have apt-get || fail "apt-get is not available; install these yourself: $*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null ||
    { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } ||
    fail "apt-get could not install $*; check the package sources, then run setup again"
}

CURRENT_STEP="rust toolchain"
step "$CURRENT_STEP"
have cargo || fail "cargo is missing: install Rust with rustup, then run setup again"
have rustup || fail "rustup is missing: Atelier needs rustup to add the wasm32 target"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

CURRENT_STEP="crates"
step "$CURRENT_STEP"
# Trunk builds offline (Trunk.toml), so every crate, for every target, is fetched here first.
cargo fetch --locked >/dev/null || fail "cargo fetch failed; check that the crates registry is reachable"

CURRENT_STEP="wasm-bindgen-cli"
step "$CURRENT_STEP"
WBG_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
[ -n "$WBG_VERSION" ] || fail "Cargo.lock names no wasm-bindgen version"
grep -q "wasm_bindgen = \"$WBG_VERSION\"" Trunk.toml ||
  fail "Trunk.toml [tools] wasm_bindgen must be \"$WBG_VERSION\" (the version in Cargo.lock); edit it"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WBG_VERSION" ]; then
  # --locked fails to resolve one of its dependencies (see shared/toolchain.md), so it is left out.
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
fi

CURRENT_STEP="trunk"
step "$CURRENT_STEP"
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  # trunk 0.22 needs a newer rustc than stable 1.95: build it with the nightly toolchain.
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  cargo +nightly install trunk --version "$TRUNK_VERSION" --locked --force
fi

CURRENT_STEP="python3 (make test's check for import loops between modules)"
step "$CURRENT_STEP"
if ! have python3; then apt_install python3; fi

CURRENT_STEP="C++ compiler (the cargo-fuzz targets build libFuzzer in the tests)"
step "$CURRENT_STEP"
if ! have c++; then apt_install g++; fi

CURRENT_STEP="Vulkan on the CPU (Mesa's lavapipe: the native tests train on wgpu without a GPU)"
step "$CURRENT_STEP"
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then apt_install mesa-vulkan-drivers libvulkan1; fi

CURRENT_STEP="node tools (wasm-opt, browser driver)"
step "$CURRENT_STEP"
if ! have npm; then apt_install nodejs npm; fi
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund >/dev/null || fail "npm ci failed; check that the npm registry is reachable"
fi
node_modules/.bin/wasm-opt --version | grep -q "version_$BINARYEN_VERSION" ||
  fail "wasm-opt is not binaryen $BINARYEN_VERSION; delete node_modules and run setup again"

CURRENT_STEP="Fashion-MNIST"
step "$CURRENT_STEP"
mkdir -p "$DATA_DIR"
verify() { # file.gz -> 0 if its content has the expected checksum
  local base; base="$(basename "$1" .gz)"
  [ -s "$1" ] && [ "$(gzip -dc "$1" 2>/dev/null | sha256sum | cut -c1-64)" = "${DATA_SHA256[$base]}" ]
}
for base in "${!DATA_SHA256[@]}"; do
  target="$DATA_DIR/$base.gz"
  verify "$target" && continue
  if [ ! -f "$DEBIAN_DATA/$base.gz" ] && have apt-get && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
    apt_install dataset-fashion-mnist || true
  fi
  if [ -f "$DEBIAN_DATA/$base.gz" ]; then
    cp "$DEBIAN_DATA/$base.gz" "$target"
  else
    have curl || fail "neither the dataset-fashion-mnist package nor curl is available to get $base.gz"
    curl -fsSL "$OFFICIAL_DATA/$base.gz" -o "$target" ||
      fail "could not download $base.gz from $OFFICIAL_DATA; install the dataset-fashion-mnist package or copy the file to $DATA_DIR"
  fi
  verify "$target" || { rm -f "$target"; fail "$base.gz does not have the expected content (checksum mismatch); run setup again"; }
done
echo "dataset verified in $DATA_DIR"

CURRENT_STEP="Chromium for the browser tests"
step "$CURRENT_STEP"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then apt_install chromium; fi
[ -x "$CHROMIUM" ] || fail "Chromium is not at $CHROMIUM; install it or set CHROMIUM=/path/to/chromium"

echo
echo "setup: everything is in place"
