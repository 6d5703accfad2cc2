# Argument parsing shared by the ResGAN stage scripts (sourced, not run):
#   source _stage_args.sh "$@"
# Sets CONTEXT (--context N, default 1) and EXTRA (every other argument, passed on
# to train.py); with ALLOW_PRESET=1 also PRESET (--paper / --quick, default quick).
# -h/--help prints the calling script's header comment and exits.
CONTEXT=1
PRESET=quick
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --paper|--quick)
      if [ "${ALLOW_PRESET:-0}" = 1 ]; then PRESET=${1#--}; else EXTRA+=("$1"); fi ;;
    --context) CONTEXT=${2:?--context needs a value}; shift ;;
    --context=*) CONTEXT=${1#*=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
