#!/usr/bin/env bash
# scripts/setup.sh - installs what seatgate needs to build and test, and nothing twice.
#
# Idempotent: every step checks first and is skipped when its result is already there
# (an all-cached run takes a few seconds). Downloads come only from package registries
# (Debian, crates.io, npm, and rustup's own dist server when it answers).
#
#   apt        chromium (Playwright's browser; Playwright never downloads one)
#   wasm32     rust-std for wasm32-unknown-unknown: rustup, else Debian rustc-web + a std
#              built once from Debian's matching rust-web-src (recipe from shared/toolchain)
#   cargo      cargo-leptos 0.3.10 (newest that builds on stable 1.95) and wasm-bindgen-cli
#              at exactly the wasm-bindgen version in Cargo.lock
#   npm        tailwind CLI + binaryen (wasm-opt) in ./node_modules, Playwright in end2end/
#
# Writes target/setup.env; source it for PATH (node_modules/.bin first, so Debian's broken
# binaryen 108 is never picked up) and RUSTUP_TOOLCHAIN when the Debian fallback is used.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
export RUSTUP_AUTO_INSTALL=0
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

T_ALL=$(date +%s)
step() { printf '== setup: %s\n' "$*"; }

APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  if [ $APT_UPDATED -eq 0 ]; then
    $SUDO apt-get update -qq -o DPkg::Lock::Timeout=600
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}"
}

has_toolchain() { rustup toolchain list 2>/dev/null | awk '{print $1}' | grep -Eq "^$1(-|$)"; }

has_wasm_std() {
  local sr
  sr=$(rustc +"$1" --print sysroot 2>/dev/null) || return 1
  compgen -G "$sr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib" >/dev/null || return 1
  if [ -f "$sr/lib/rustlib/wasm32-unknown-unknown/lib/.built-by" ]; then
    [ "$(cat "$sr/lib/rustlib/wasm32-unknown-unknown/lib/.built-by")" = "$(rustc +"$1" -vV | grep commit-hash)" ] || return 1
  fi
}

# --- 1. Debian packages --------------------------------------------------------------
# chromium: the browser Playwright drives.
if [ "${SKIP_CHROMIUM:-0}" != 1 ]; then apt_install chromium; fi
# samael (SAML signature verification) links xmlsec1/libxml2/OpenSSL and runs bindgen
apt_install libxmlsec1-dev libclang-dev pkg-config
# a C compiler for the bundled SQLite; PostgreSQL binaries for a private test cluster
apt_install gcc postgresql-15 || apt_install gcc postgresql

# --- 2. wasm32-unknown-unknown standard library ----------------------------------------
WASM_TOOLCHAIN=""
if [ "${LEPTOS_WASM_STD:-}" != debian ]; then
  if has_wasm_std stable; then
    WASM_TOOLCHAIN=stable
  elif timeout 90 rustup target add --toolchain stable wasm32-unknown-unknown && has_wasm_std stable; then
    WASM_TOOLCHAIN=stable
  else
    step "rustup could not provide rust-std for wasm32; using Debian rustc-web + a built std"
  fi
fi
if [ -z "$WASM_TOOLCHAIN" ]; then
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm
  lld_pkg=$(basename "$(readlink /usr/bin/rust-lld)")
  apt_install "$lld_pkg"
  has_toolchain debian || rustup toolchain link debian /usr
  if ! has_wasm_std debian; then
    step "building the wasm32 std with Debian's rustc (about a minute)"
    tmp=$(mktemp -d)
    cargo +debian new --lib --vcs none --name sysroot_dummy "$tmp/d" -q
    printf '\n[profile.release]\nopt-level = 3\ndebug = false\ndebug-assertions = false\noverflow-checks = false\ncodegen-units = 1\nlto = false\n' >> "$tmp/d/Cargo.toml"
    echo '#![no_std]' > "$tmp/d/src/lib.rs"
    # -Cembed-bitcode=yes: the rlibs carry bitcode too, so LTO builds link against them
    ( cd "$tmp/d" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET \
        RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes" \
        cargo +debian build -q -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown --release )
    dest="$(rustc +debian --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib"
    $SUDO rm -rf "$dest" && $SUDO mkdir -p "$dest"
    for f in "$tmp"/d/target/wasm32-unknown-unknown/release/deps/lib*.rlib \
             "$tmp"/d/target/wasm32-unknown-unknown/release/deps/lib*.rmeta; do
      case "$(basename "$f")" in libsysroot_dummy*) ;; *) $SUDO cp "$f" "$dest/" ;; esac
    done
    rustc +debian -vV | grep commit-hash | $SUDO tee "$dest/.built-by" >/dev/null
    rm -rf "$tmp"
  fi
  WASM_TOOLCHAIN=debian
fi

# --- 3. cargo-leptos -----------------------------------------------------------------
have=$(cargo leptos --version 2>/dev/null || true)
if [[ ! "$have" =~ ^cargo-leptos\ 0\.3\.1[0-9]$ ]]; then
  step "cargo install cargo-leptos 0.3.10 (about 11 minutes on 2 cores, once per machine)"
  # its own profile is lto=true, codegen-units=1 (~19 min); without LTO it works the same
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo +"$WASM_TOOLCHAIN" install cargo-leptos --version 0.3.10 --locked
fi

# --- 4. wasm-bindgen CLI, exactly the version in Cargo.lock -------------------------------
WB_VER=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WB_VER"; then
  step "cargo install wasm-bindgen-cli $WB_VER (about 2.5 minutes, once per version)"
  # --locked fails for 0.2.130 (its lock pins a webpki-roots the index no longer has)
  cargo +"$WASM_TOOLCHAIN" install wasm-bindgen-cli --version "$WB_VER" --locked 2>/dev/null \
    || cargo +"$WASM_TOOLCHAIN" install wasm-bindgen-cli --version "$WB_VER"
fi

# --- 5. npm: tailwind + binaryen here, Playwright in end2end/ ------------------------------
for d in "$ROOT" "$ROOT/end2end"; do
  stamp="$d/node_modules/.seatgate-lock"
  if [ -f "$stamp" ] && cmp -s "$d/package-lock.json" "$stamp"; then continue; fi
  step "npm ci in $d"
  (cd "$d" && npm ci --no-fund --no-audit --loglevel=error)
  cp "$d/package-lock.json" "$stamp"
done

mkdir -p "$ROOT/target"
{
  echo "# generated by scripts/setup.sh"
  echo "export PATH=\"\$HOME/.cargo/bin:$ROOT/node_modules/.bin:\$PATH\""
  echo "export RUSTUP_AUTO_INSTALL=0"
  [ "$WASM_TOOLCHAIN" = debian ] && echo "export RUSTUP_TOOLCHAIN=debian"
  echo "export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1"
  echo "export CHROMIUM_PATH=\${CHROMIUM_PATH:-/usr/bin/chromium}"
} > "$ROOT/target/setup.env"
step "ready in $(( $(date +%s) - T_ALL )) s (toolchain: $WASM_TOOLCHAIN)"
