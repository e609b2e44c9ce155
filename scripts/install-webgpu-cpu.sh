#!/usr/bin/env bash
# Make WebGPU compute shaders runnable on a machine with no GPU.
#
#   bash scripts/install-webgpu-cpu.sh             # Dawn (npm `webgpu`) on Mesa lavapipe
#   bash scripts/install-webgpu-cpu.sh --chromium  # ... and Debian's chromium (SwiftShader)
#
# Run as root on Debian 12 (bookworm) or Debian 13 (trixie) or later.
# Idempotent: a second run only re-checks and prints what is there.
#
# What it does (see shared/notes/webgpu-on-cpu.md for the measurements):
#   1. `apt-get install libvulkan1` (the Vulkan loader) system-wide if missing.
#   2. Downloads `mesa-vulkan-drivers` >= 25 with `apt-get download` and unpacks it
#      with `dpkg-deb -x` into <repo>/.cache/webgpu-cpu/ . The system's own Mesa is
#      NOT touched: nothing is installed from that package, so OpenGL/EGL and any
#      system Vulkan driver stay as they were. Dawn rejects Debian 12's own
#      lavapipe (Mesa 22.3), which is why the newer one is needed.
#        * Debian 12: the package comes from bookworm-backports. The backports
#          source is used PRIVATELY: a sources.list and apt lists under
#          .cache/webgpu-cpu/apt/, passed with -o Dir::Etc::SourceList=... and
#          -o Dir::State::Lists=... . The system's apt configuration, its lists and
#          its pinning are not modified, so later `apt-get upgrade`s cannot pull
#          Mesa 25 into the system by accident.
#        * Debian 13+: the default suite has Mesa >= 25; the system sources are used.
#   3. Checks the unpacked libvulkan_lvp.so with `ldd -r`. Its shared-library
#      dependencies (libLLVM, libdrm, libxcb-*, libwayland-client, ...) are ordinary
#      libraries, not Mesa. If some are missing (a minimal image), the missing
#      library packages are installed system-wide from the system's own suite with
#      `apt-get install --no-install-recommends`: apt then pulls their own
#      dependencies (libLLVM-15 alone needs libz3, libedit, libxml2, libicu, ...),
#      which unpacking privately could only do with LD_LIBRARY_PATH set before
#      every node start, or an rpath patched into the .so. `ldd -r` (which also
#      resolves symbols) is what decides, not the package's version constraints:
#      e.g. bookworm's libdrm 2.4.114 is enough for lavapipe even though the
#      package asks for 2.4.121 (that is for the radeon driver).
#   4. Writes .cache/webgpu-cpu/lvp_icd.json (absolute library_path) and
#      .cache/webgpu-cpu/env.sh (`export VK_DRIVER_FILES=...`).
#   5. With --chromium: `apt-get install -y chromium` (Debian's; it ships
#      SwiftShader, so WebGPU runs on the CPU with --enable-unsafe-webgpu).
#
# Environment knobs:
#   WEBGPU_CPU_DIR       where to unpack (default <repo>/.cache/webgpu-cpu)
#   DEBIAN_MIRROR        mirror for the private backports source
#                        (default: the system's own Debian mirror, read from its apt sources)
#   WEBGPU_CPU_FORCE=1   re-download and re-unpack even if already there
set -euo pipefail

WANT_CHROMIUM=0
for arg in "$@"; do
  case "$arg" in
    --chromium) WANT_CHROMIUM=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
    *) echo "install-webgpu-cpu: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

say() { printf 'install-webgpu-cpu: %s\n' "$*"; }
die() { printf 'install-webgpu-cpu: ERROR: %s\n' "$*" >&2; exit 1; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${WEBGPU_CPU_DIR:-$REPO_ROOT/.cache/webgpu-cpu}"
# The backports suite lives on the same mirror the system already uses.
system_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -- '-security' | head -n 1)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v -- '-security' | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | head -n 1)
  printf '%s' "$uri"
}
MIRROR="${DEBIAN_MIRROR:-$(system_mirror)}"
ICD_JSON="$DEST/lvp_icd.json"
STAMP="$DEST/mesa-version"
MIN_MESA_MAJOR=25
export DEBIAN_FRONTEND=noninteractive
T0=$(date +%s.%N)

[ "$(id -u)" = 0 ] || die "must run as root (it uses apt-get)."
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs a Debian system (apt-get, dpkg-deb)."
[ -r /etc/os-release ] || die "/etc/os-release not found."
# shellcheck disable=SC1091
. /etc/os-release
[ "${ID:-}" = debian ] || say "warning: this is '${ID:-?}', not Debian; trying anyway."
CODENAME="${VERSION_CODENAME:-}"
ARCH="$(dpkg --print-architecture)"
MULTIARCH="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
[ "$MULTIARCH" = x86_64-linux-gnu ] || [ "$ARCH" != amd64 ] || MULTIARCH=x86_64-linux-gnu

# (No `cmd | grep -q` here: with pipefail, grep -q closing the pipe early can make
# the pipeline fail through SIGPIPE.)
installed() { local s; s="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)"; [[ "$s" == ii* ]]; }

SYS_APT_UPDATED=0
sys_apt_update_once() {
  if [ "$SYS_APT_UPDATED" = 0 ]; then
    say "apt-get update (system sources)"
    apt-get update -qq
    SYS_APT_UPDATED=1
  fi
}
has_candidate() { local c; c="$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')"; [ -n "$c" ] && [ "$c" != "(none)" ]; }
sys_install() { # packages...
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  for p in "${missing[@]}"; do has_candidate "$p" || { sys_apt_update_once; break; }; done
  say "apt-get install (system-wide): ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  DID+=("installed system-wide: ${missing[*]}")
}
DID=()

# ---- 1. Vulkan loader -------------------------------------------------------
if installed libvulkan1; then
  say "libvulkan1 already installed ($(dpkg-query -W -f='${Version}' libvulkan1))"
else
  sys_install libvulkan1
fi

# ---- 2. Mesa >= 25 lavapipe, unpacked privately ----------------------------
lvp_so() { find "$DEST/root" -name libvulkan_lvp.so -type f 2>/dev/null | head -n1; }
mesa_ok() {
  [ -f "$ICD_JSON" ] && [ -f "$STAMP" ] && [ -n "$(lvp_so)" ] || return 1
  local major; major="$(sed -E 's/^([0-9]+:)?([0-9]+).*/\2/' "$STAMP")"
  [ "$major" -ge "$MIN_MESA_MAJOR" ]
}

if [ "${WEBGPU_CPU_FORCE:-0}" != 1 ] && mesa_ok; then
  say "lavapipe $(cat "$STAMP") already unpacked in $DEST"
else
  mkdir -p "$DEST"
  DL="$DEST/download"
  rm -rf "$DL"; mkdir -p "$DL"
  APT_OPTS=(-o APT::Sandbox::User=root)
  if [ "$CODENAME" = bookworm ]; then
    # Private apt state: only bookworm-backports, lists kept under $DEST/apt.
    A="$DEST/apt"
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/sources.list.d"
    KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$KEYRING" ] || sys_install debian-archive-keyring
    [ -n "$MIRROR" ] || die "cannot find the system's Debian mirror in its apt sources; set DEBIAN_MIRROR"
    echo "deb [signed-by=$KEYRING] $MIRROR bookworm-backports main" > "$A/sources.list"
    APT_OPTS+=(-o "Dir::Etc::SourceList=$A/sources.list"
               -o "Dir::Etc::SourceParts=$A/sources.list.d"
               -o "Dir::State::Lists=$A/lists"
               -o "Dir::Cache=$A/cache"
               -o "Dir::Etc::Preferences=/dev/null"
               -o "Dir::Etc::PreferencesParts=$A/sources.list.d")
    say "apt-get update (private: bookworm-backports only, lists in $A/lists)"
    apt-get "${APT_OPTS[@]}" update -qq
    SRC="bookworm-backports"
  else
    has_candidate mesa-vulkan-drivers || sys_apt_update_once
    SRC="${CODENAME:-system} (system sources)"
  fi
  VER="$(apt-cache "${APT_OPTS[@]}" policy mesa-vulkan-drivers | sed -n 's/^ *Candidate: //p')"
  if [ -z "$VER" ] || [ "$VER" = "(none)" ]; then
    die "no mesa-vulkan-drivers candidate in $SRC."
  fi
  MAJOR="$(echo "$VER" | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/')"
  [ "$MAJOR" -ge "$MIN_MESA_MAJOR" ] || die "mesa-vulkan-drivers in $SRC is $VER; lavapipe from Mesa >= $MIN_MESA_MAJOR is needed (Dawn rejects older ones)."
  say "apt-get download mesa-vulkan-drivers=$VER from $SRC"
  (cd "$DL" && apt-get "${APT_OPTS[@]}" download -qq "mesa-vulkan-drivers=$VER")
  rm -rf "$DEST/root"; mkdir -p "$DEST/root"
  dpkg-deb -x "$DL"/mesa-vulkan-drivers_*.deb "$DEST/root"
  rm -rf "$DL"
  echo "$VER" > "$STAMP"
  DID+=("unpacked mesa-vulkan-drivers $VER ($SRC) into $DEST/root")
fi

LVP="$(lvp_so)"
[ -n "$LVP" ] || die "libvulkan_lvp.so not found under $DEST/root."

# ---- 3. Shared-library dependencies of lavapipe ------------------------------
missing_libs() { ldd -r "$LVP" 2>&1 | sed -n 's/^[[:space:]]*\([^[:space:]]*\) => not found.*/\1/p' | sort -u; }
undefined_syms() { ldd -r "$LVP" 2>&1 | grep -c '^undefined symbol' || true; }
MISSING="$(missing_libs)"
if [ -n "$MISSING" ]; then
  say "libvulkan_lvp.so needs libraries that are not on the system: $(echo $MISSING)"
  # Map each missing soname to a package among mesa-vulkan-drivers' Depends
  # (Debian names them after the soname: libxcb-randr.so.0 -> libxcb-randr0,
  # libLLVM-15.so.1 -> libllvm15, libz.so.1 -> zlib1g ...).
  PKGS=()
  for so in $MISSING; do
    base="${so%%.so*}"; num="${so##*.so.}"; num="${num%%.*}"
    cand="$(echo "${base}${num}" | tr 'A-Z' 'a-z')"           # libxcb-randr.so.0 -> libxcb-randr0
    cand2="$(echo "${base}-${num}" | tr 'A-Z' 'a-z')"         # libxcb-dri3.so.0 -> libxcb-dri3-0
    cand3="$(echo "$base" | tr 'A-Z' 'a-z' | tr -d '-')${num}" # libLLVM-15.so.1 -> libllvm15
    case "$so" in libz.so.*) cand=zlib1g ;; libLLVM-*) cand="libllvm$(echo "$so" | sed -E 's/libLLVM-([0-9]+).*/\1/')" ;; esac
    pick=""
    for attempt in 1 2; do
      for c in "$cand" "$cand2" "$cand3"; do
        if has_candidate "$c"; then pick="$c"; break 2; fi
      done
      sys_apt_update_once # the lists may be missing or stale; retry once after an update
    done
    [ -n "$pick" ] || die "cannot tell which package provides $so (see: apt-cache show mesa-vulkan-drivers | grep Depends); install it and rerun."
    PKGS+=("$pick")
  done
  sys_install "${PKGS[@]}"
  MISSING="$(missing_libs)"
  [ -z "$MISSING" ] || die "libvulkan_lvp.so still lacks: $(echo $MISSING)"
fi
NUNDEF="$(undefined_syms)"
[ "$NUNDEF" = 0 ] || die "libvulkan_lvp.so has $NUNDEF undefined symbols against the system libraries (ldd -r $LVP)."
say "ldd -r $LVP: all libraries and symbols resolved"

# ---- 4. ICD file and env file ------------------------------------------------
API_VERSION="$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$DEST"/root/usr/share/vulkan/icd.d/lvp_icd.json 2>/dev/null | head -n1)"
API_VERSION="${API_VERSION:-1.3.0}"
NEW_ICD="$(printf '{\n    "file_format_version": "1.0.0",\n    "ICD": {\n        "library_path": "%s",\n        "api_version": "%s"\n    }\n}\n' "$LVP" "$API_VERSION")"
if [ ! -f "$ICD_JSON" ] || [ "$(cat "$ICD_JSON")" != "$NEW_ICD" ]; then
  printf '%s' "$NEW_ICD" > "$ICD_JSON"
  DID+=("wrote $ICD_JSON")
fi
printf 'export VK_DRIVER_FILES=%q\n' "$ICD_JSON" > "$DEST/env.sh"

# ---- 5. Chromium ---------------------------------------------------------------
if [ "$WANT_CHROMIUM" = 1 ]; then
  if installed chromium && [ -x /usr/bin/chromium ]; then
    say "chromium already installed ($(dpkg-query -W -f='${Version}' chromium))"
  else
    has_candidate chromium || sys_apt_update_once
    say "apt-get install -y chromium (system-wide; this takes a while the first time)"
    apt-get install -y -qq chromium >/dev/null
    DID+=("installed chromium $(dpkg-query -W -f='${Version}' chromium) system-wide")
  fi
fi

# ---- summary -------------------------------------------------------------------
T1=$(date +%s.%N)
if [ "${#DID[@]}" = 0 ]; then
  say "nothing to do; everything was already in place."
else
  for d in "${DID[@]}"; do say "did: $d"; done
fi
say "lavapipe: $LVP (Mesa $(cat "$STAMP"))"
say "ICD:      $ICD_JSON"
say "Node picks it up automatically (src/gpu/node-device.ts); for other tools:"
say "  export VK_DRIVER_FILES=$ICD_JSON     # or: . $DEST/env.sh"
[ "$WANT_CHROMIUM" = 1 ] && say "chromium: /usr/bin/chromium"
say "done in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}') s"
