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
# TensorFlow's CPU training frees and re-maps its large activation buffers every step; with glibc's
# malloc each step re-faults them (measured: ~90k page faults/s, ~40% of a 2-core VM in the kernel,
# B1 1.1-1.9 s/step). jemalloc keeping freed pages (no decay) cut faults 12x and B1 to 0.7 s/step.
# Used when the library is installed (Debian: apt install libjemalloc2); SEP_JEMALLOC=0 turns it off.
: "${SEP_JEMALLOC:=1}"
export SEP_JEMALLOC
for _lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2; do
  if [ "$SEP_JEMALLOC" = 1 ] && [ -f "$_lib" ] && [[ "${LD_PRELOAD:-}" != *jemalloc* ]]; then
    export LD_PRELOAD="$_lib${LD_PRELOAD:+:$LD_PRELOAD}"
    export MALLOC_CONF="${MALLOC_CONF:-dirty_decay_ms:-1,muzzy_decay_ms:-1,retain:true}"
  fi
done
unset _lib
