# The one option parser of every numbered stage script of every pipeline (sourced, not run).
#
# A stage script sets its options as shell variables with their defaults, then sources
# this file with the script's arguments:
#
#   stage=0 stop_stage=100 data_dir=data preset=quick resume=true
#   . "$(dirname "$0")/utils/parse_options.sh" "$@"     # (path to this file from the script)
#
# Every lower-case variable set before sourcing becomes an option:
#   --data_dir DIR  or  --data_dir=DIR      set it
#   --resume, --no-resume, --resume false   options whose default is true or false are switches
#   -h, --help                              print the script's header comment, exit 0
#   --                                      stop parsing: what follows stays in "$@" (to pass on)
# An unknown option or a missing value prints one line and exits 2. Positional arguments
# are refused unless the script sets positional_ok=1 (they stay in "$@").
# `stage` and `stop_stage` always exist (default 0 and 100); a script tests its stages with
#   if stage_on 2; then ...; fi
# and a single-stage script (NN_name.sh) starts with `stage_on N || exit 0`.

: "${stage:=0}" "${stop_stage:=100}"

_po_usage() {  # the header comment of the calling script, without '#' and the shebang
  awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

_po_is_option() {  # a lower-case shell variable that the script set before sourcing
  [[ "$1" =~ ^[a-z][a-z0-9_]*$ ]] && [[ -n "${!1+set}" ]] && [[ "$1" != _po_* ]]
}

_po_rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) _po_usage; exit 0 ;;
    --) shift; _po_rest+=("$@"); break ;;
    --*=*) _po_flag=${1%%=*}; _po_name=${_po_flag#--}; _po_value=${1#*=}; shift ;;
    --*)
      _po_flag=$1; _po_name=${1#--}; _po_name=${_po_name//-/_}; shift
      _po_base=${_po_name#no_}
      if [[ "$_po_name" == no_* ]] && ! _po_is_option "$_po_name" && _po_is_option "$_po_base" \
         && { [ "${!_po_base}" = true ] || [ "${!_po_base}" = false ]; }; then
        printf -v "$_po_base" '%s' false; continue           # --no-resume
      fi
      if ! _po_is_option "$_po_name"; then
        echo "error: $(basename "$0"): unknown option $_po_flag (see --help)" >&2; exit 2
      fi
      if _po_is_option "$_po_name" && { [ "${!_po_name}" = true ] || [ "${!_po_name}" = false ]; } \
         && { [ $# -eq 0 ] || { [ "$1" != true ] && [ "$1" != false ]; }; }; then
        _po_value=true
      elif [ $# -gt 0 ]; then
        _po_value=$1; shift
      else
        echo "error: $(basename "$0"): $_po_flag needs a value" >&2; exit 2
      fi ;;
    *)
      if [ "${positional_ok:-0}" = 1 ]; then _po_rest+=("$1"); shift; continue; fi
      echo "error: $(basename "$0"): unexpected argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  _po_name=${_po_name//-/_}
  if ! _po_is_option "$_po_name"; then
    echo "error: $(basename "$0"): unknown option $_po_flag (see --help)" >&2; exit 2
  fi
  printf -v "$_po_name" '%s' "$_po_value"
done
set -- ${_po_rest[@]+"${_po_rest[@]}"}
unset _po_name _po_value _po_rest _po_base _po_flag

for _po_n in stage stop_stage; do
  if ! [[ "${!_po_n}" =~ ^[0-9]+$ ]]; then
    echo "error: $(basename "$0"): --$_po_n must be a whole number, got '${!_po_n}'" >&2; exit 2
  fi
done
unset _po_n

stage_on() {  # stage_on N: true when stage <= N <= stop_stage
  [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]
}
