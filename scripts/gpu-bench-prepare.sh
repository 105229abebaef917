#!/usr/bin/env bash
# Makes what scripts/gpu-bench.sh takes to the device machine: the release bench binary twice (as the page
# builds it, and with burn's kernel autotuning, the `autotune` feature; each stripped and xz-compressed,
# ~10 MB), the dataset, and the Vulkan/GL loader packages. The folders are git-ignored through
# .git/info/exclude, so they travel only when the device call names them in `carry` (.gpu and .gl).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$HOME/.cache/atelier/target}
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || printf '/.gpu/\n' >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || printf '/.gl/\n' >>.git/info/exclude
mkdir -p .gpu/data .gl
# Both builds write the same path: each is packed before the next.
for variant in bench:"" bench-autotune:autotune; do
  name=${variant%%:*}
  CARGO_TARGET_DIR=$target cargo build --release -p atelier-bench --bin bench --features "${variant#*:}"
  strip -o ".gpu/$name" "$target/release/bench"
  xz -T0 -6 -f ".gpu/$name"
done
cp static/data/*.gz .gpu/data/
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpu .gl
