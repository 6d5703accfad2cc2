# Shared settings of the separation stages (sourced by 0N_*.sh; override by exporting first).
: "${SEP_SRC:=data/separation_src}"          # embedded synthetic speech + noises (stage 01 makes them)
: "${SEP_SPEECH:=}"                          # LJSpeech-layout folder; empty = embedded synthetic corpus
: "${SEP_NOISE:=}"                           # ESC-50-layout / plain noise folders (space separated); empty = embedded
: "${SEP_NOISE_ARGS:=}"                      # extra make_mixtures args (e.g. --categories all)
: "${SEP_DATA:=data/separation}"             # mixtures, lists, split.json
: "${SEP_MODELS:=models/separation}"         # encoder_proposed.keras, encoder_b1.keras, b2.keras, vocoder.keras
: "${SEP_OUT:=output/separation}"            # separated wavs, one folder per method
: "${SEP_FIGS:=figures/separation}"          # table CSV, bar chart, spectrograms
: "${SEP_PRESET:=default}"                   # default (CPU) or paper network sizes
: "${SEP_EPOCHS:=40}"
: "${SEP_STEPS:=10}"                        # steps per epoch (validation, checkpoint, x0.98 LR decay)
: "${SEP_B1_EPOCHS:=$SEP_EPOCHS}"            # epochs of baseline B1 (its linear-spectrum target learns slowest)
: "${SEP_B2_EPOCHS:=$SEP_EPOCHS}"            # epochs of baseline B2
: "${SEP_MAX_MINUTES:=3}"                    # wall-clock budget per trained model (checked after every batch)
: "${SEP_SEED:=0}"
: "${SEP_METHODS:=ibm_gt b1_gt b1 b2 proposed_gt proposed}"
export SEP_SRC SEP_SPEECH SEP_NOISE SEP_NOISE_ARGS SEP_DATA SEP_MODELS SEP_OUT SEP_FIGS SEP_PRESET \
       SEP_EPOCHS SEP_B1_EPOCHS SEP_B2_EPOCHS SEP_STEPS SEP_MAX_MINUTES SEP_SEED SEP_METHODS
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
# Opt-in (SEP_JEMALLOC=1, needs Debian's libjemalloc2): run the stages under jemalloc keeping freed
# pages. With glibc's malloc TensorFlow's CPU training re-faulted its buffers every step on a 2-core
# VM (~90k page faults/s, ~40% of the time in the kernel); this cut faults 12x and a B1 step from
# 1.1-1.9 s to 0.7 s. Off by default: a chain run with it stalled later under memory pressure
# (kswapd busy) and freed pages are never returned, so memory use is not yet measured to be bounded.
: "${SEP_JEMALLOC:=0}"
export SEP_JEMALLOC
_lib="/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2"
if [ "$SEP_JEMALLOC" = 1 ] && [ -f "$_lib" ] && [[ "${LD_PRELOAD:-}" != *jemalloc* ]]; then
  export LD_PRELOAD="$_lib${LD_PRELOAD:+:$LD_PRELOAD}"
  export MALLOC_CONF="${MALLOC_CONF:-dirty_decay_ms:-1,muzzy_decay_ms:-1,retain:true}"
fi
unset _lib
