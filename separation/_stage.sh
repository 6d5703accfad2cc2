# Helpers of the separation stage scripts (sourced after utils/parse_options.sh, from the
# repository root). Reads the script's options `show` and `jemalloc` (default false).
#
#   run CMD ARGS...            run a command, or with --show only print it (shell-quoted)
#   synthetic_speech DIR MIN   make the embedded synthetic corpus (22.05 kHz) in DIR unless it exists
#
# --jemalloc (opt-in, needs Debian's libjemalloc2): run the Python stages under jemalloc keeping
# freed pages. With glibc's malloc TensorFlow's CPU training re-faulted its buffers every step on
# a 2-core VM (~90k page faults/s, ~40% of the time in the kernel); this cut faults 12x and a B1
# step from 1.1-1.9 s to 0.7 s. Off by default: a chain run with it stalled later under memory
# pressure (kswapd busy) and freed pages are never returned, so its memory use is not yet
# measured to be bounded. Where the library is missing the switch does nothing.

_lib="/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2"
if [ "${jemalloc:-false}" = true ] && [ -f "$_lib" ] && [[ "${LD_PRELOAD:-}" != *jemalloc* ]]; then
  export LD_PRELOAD="$_lib${LD_PRELOAD:+:$LD_PRELOAD}"
  export MALLOC_CONF="${MALLOC_CONF:-dirty_decay_ms:-1,muzzy_decay_ms:-1,retain:true}"
fi
unset _lib

run() {
  if [ "${show:-false}" = true ]; then
    [[ "${LD_PRELOAD:-}" == *jemalloc* ]] && printf 'LD_PRELOAD=%q ' "$LD_PRELOAD"
    printf '%q ' "$@"; echo
  else
    "$@"
  fi
}

synthetic_speech() {  # synthetic_speech DIR MINUTES (seed: $seed)
  [ -f "$1/metadata.csv" ] || run python -m corpus.make_synthetic --out_dir "$1" --minutes "$2" --sr 22050 --seed "$seed"
}
