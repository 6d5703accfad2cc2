#!/usr/bin/env bash
# Stage 4: train the WaveNet vocoder (log-mel -> waveform) with python -m wavenet.train
# -> --model_dir/vocoder.keras (+ vocoder.json); run folder (checkpoints, log.csv,
# samples/*.wav|png): --model_dir/vocoder_run. Rerunning resumes from the last checkpoint.
#
#   bash separation/04_train_vocoder.sh [options] [-- wavenet.train flags]
#   bash separation/04_train_vocoder.sh -- --output mol --upsample repeat
#   bash separation/04_train_vocoder.sh --speech_dir /data/LJSpeech-1.1 --preset paper -- --batch_size 8
#
# Options (default):
#   --speech_dir DIR     LJSpeech-layout speech (empty: the embedded synthetic corpus of
#                        stage 1 in --src_dir/speech, made here if missing)
#   --src_dir DIR        (data/separation_src)
#   --synth_minutes M    (2.5)
#   --model_dir DIR      (models/separation)
#   --preset NAME        separation/presets/vocoder/NAME.json: default, realdata, paper (default);
#                        it names wavenet's own preset and the training length
#   --epochs N --steps_per_epoch N --max_minutes M   override the preset
#   --seed N             (0)
#   --resume true|false  continue from the last checkpoint (true); false starts over
#   --jemalloc           run under jemalloc (opt-in, see separation/_stage.sh)
#   --show               print the commands, run nothing
#   --stage N --stop_stage M   run only if 4 is in [N, M]
# Everything after -- goes to python -m wavenet.train.
set -euo pipefail
speech_dir="" src_dir=data/separation_src synth_minutes=2.5 model_dir=models/separation preset=default
epochs="" steps_per_epoch="" max_minutes="" seed=0 resume=true jemalloc=false show=false
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 4 || exit 0
cd "$(dirname "$0")/.."
. separation/_stage.sh

speech=$speech_dir
if [ -z "$speech" ]; then
  speech=$src_dir/speech
  synthetic_speech "$speech" "$synth_minutes"
fi
preset_flags=$(python -m separation.settings vocoder "$preset")  # wavenet's preset and training length
flags=()
[ -z "$preset_flags" ] || mapfile -t flags <<< "$preset_flags"
for v in epochs steps_per_epoch max_minutes; do [ -z "${!v}" ] || flags+=("--$v" "${!v}"); done
run python -m wavenet.train --data_dir "$speech" --out_dir "$model_dir/vocoder_run" \
    --final "$model_dir/vocoder.keras" ${flags[@]+"${flags[@]}"} --seed "$seed" \
    "$([ "$resume" = true ] && echo --resume || echo --no-resume)" "$@"
