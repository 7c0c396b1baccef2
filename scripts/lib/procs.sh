# Background processes owned by one run directory (sourced by scripts/mixnet and
# scripts/kpclientd-offline). Each process runs in its own session (setsid), so its pid is also
# its process group and children (the courier plugin) stop with it. Pids live in DIR/pids/.

# start_process DIR NAME PROGRAM ARGS...: output to DIR/NAME.out.
start_process() {
  local dir=$1 name=$2; shift 2
  mkdir -p "$dir/pids"
  setsid "$@" >>"$dir/$name.out" 2>&1 </dev/null 9>&- &   # fd 9: scripts/mixnet's boot lock
  echo $! >"$dir/pids/$name.pid"
  echo "$1" >"$dir/pids/$name.exe"
}

# process_alive DIR NAME: the recorded pid still runs the recorded program (not a reused pid).
process_alive() {
  local dir=$1 name=$2 pid exe
  [ -f "$dir/pids/$name.pid" ] || return 1
  pid=$(cat "$dir/pids/$name.pid"); exe=$(cat "$dir/pids/$name.exe" 2>/dev/null || true)
  [ -e "/proc/$pid" ] || return 1
  [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$exe")" ]
}

# stop_process DIR NAME [TERM|KILL]: signals the process group, waits up to 15 s, then kills.
stop_process() {
  local dir=$1 name=$2 sig=${3:-TERM} pid i
  if process_alive "$dir" "$name"; then
    pid=$(cat "$dir/pids/$name.pid")
    kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 150); do [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pids/$name.pid" "$dir/pids/$name.exe"
}

# stop_all DIR: stops every process recorded under DIR, in parallel.
stop_all() {
  local dir=$1 f
  for f in "$dir"/pids/*.pid; do
    [ -f "$f" ] || continue
    stop_process "$dir" "$(basename "$f" .pid)" &
  done
  wait
}

# ports_free FIRST LAST: no TCP listener on 127.0.0.1 in [FIRST, LAST].
ports_free() {
  ! ss -ltnH 2>/dev/null | awk '{print $4}' | sed 's/.*://' |
    awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b {found=1} END {exit !found}'
}
