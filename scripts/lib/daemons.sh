# Shared settings for the real Katzenpost daemons (sourced by scripts/install-daemons,
# scripts/kpclientd-offline and scripts/mixnet). Defines KP_VERSION, KP_BINS and kp_bin_dir.

KP_VERSION=${KP_VERSION:-v0.0.99}
KP_MODULE=github.com/katzenpost/katzenpost
KP_BINS="server dirauth replica courier kpclientd genconfig fetch http-proxy-server ping"
# Warped epochs (2 minutes instead of 20) are what makes a consensus reachable in a test run.
KP_LDFLAGS="-X $KP_MODULE/core/epochtime.WarpedEpoch=true"
# katzenpost v0.0.99 pins hpqc at an untagged commit the module proxy reachable here refuses;
# hpqc v0.0.85 is the tag cut from that line 90 minutes later. See scripts/install-daemons.
KP_HPQC_VERSION=${KP_HPQC_VERSION:-v0.0.85}
# pigeonhole-cp (the Rust crate katzenpost_thin_client with its `cli` feature), installed beside
# the daemons; kp_require_bins does not ask for it (only the interop scenarios use it).
PHCP_VERSION=${PHCP_VERSION:-0.0.25}
KP_RECIPE=2   # bump when the build recipe changes, to get a fresh cache directory

# Without Go on PATH, use the toolchain scripts/setup fetched from the module proxy.
if ! command -v go >/dev/null && [ -x "${XDG_CACHE_HOME:-$HOME/.cache}/kpthin/go1.26.8/bin/go" ]; then
  PATH="${XDG_CACHE_HOME:-$HOME/.cache}/kpthin/go1.26.8/bin:$PATH"
fi

kp_cache_root() {
  echo "${KPTHIN_DAEMON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kpthin/daemons}"
}

# The cache key covers everything that changes the binaries: the pinned version, the flags,
# the Go version and the CPU (highctidh is compiled with -march=native, so a binary built on
# one CPU may SIGILL on another).
kp_cache_key() {
  local cpu go
  cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-12)
  go=$(go env GOVERSION 2>/dev/null || echo nogo)
  echo "$KP_VERSION-$(printf '%s %s %s' "$KP_LDFLAGS" "$KP_HPQC_VERSION" "$KP_RECIPE" | sha256sum | cut -c1-8)-$go-$cpu"
}

kp_bin_dir() {
  if [ -n "${KPTHIN_DAEMON_BIN:-}" ]; then echo "$KPTHIN_DAEMON_BIN"; return; fi
  echo "$(kp_cache_root)/$(kp_cache_key)/bin"
}

# kp_require_bins: exits with a message unless every daemon is installed.
kp_require_bins() {
  local bin b
  bin=$(kp_bin_dir)
  for b in $KP_BINS; do
    [ -x "$bin/$b" ] || { echo "missing $bin/$b: run scripts/install-daemons" >&2; exit 1; }
  done
}
