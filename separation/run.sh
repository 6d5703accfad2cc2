#!/usr/bin/env bash
# Speech separation by synthesis: the whole chain, stages 1-6 (separation/0N_*.sh).
#
#   bash separation/run.sh                          embedded synthetic speech + noises (~16 min on 2 CPUs)
#   bash separation/run.sh --realdata DIR           LJSpeech sample + real noise clips under DIR
#                                                   (DIR = ../shared/realdata in CI; ~40 min)
#   bash separation/run.sh --stage 5 --stop_stage 6 re-run separation and evaluation only
#   bash separation/run.sh --speech_dir LJSpeech-1.1 --noise_dir ESC-50-master --preset paper
#   bash separation/run.sh [options] --show         print the settings and every command, run nothing
#
# Stages: 1 mixtures, 2 encoder + B1, 3 B2, 4 vocoder, 5 separate, 6 evaluate.
# Options (default):
#   --stage N --stop_stage M  first and last stage (1, 6)
#   --preset NAME       separation/presets/<model>/NAME.json for every stage: default (narrow CPU
#                       networks, 40 epochs x 10 steps, 3 min per model), realdata (500 steps per
#                       model, B1 and B2 1000, 60-min cap), paper (published sizes)
#                       (default: default, or realdata with --realdata)
#   --realdata DIR      DIR/ljspeech_sample + DIR/noise/{esc50_sample,lincity_sfx,speechbrain_noise};
#                       also sets the preset and the *_real folders below
#   --speech_dir DIR    LJSpeech-layout speech (empty: embedded synthetic corpus)
#   --noise_dir "D..."  noise folders, space separated (empty: embedded synthetic noises)
#   --src_dir DIR       embedded corpus and noises (data/separation_src)
#   --synth_minutes M   length of the embedded corpus (2.5)
#   --data_dir DIR      mixtures (data/separation; data/separation_real with --realdata)
#   --model_dir DIR     checkpoints (models/separation; models/separation_real)
#   --out_dir DIR       separated wavs (output/separation; output/separation_real)
#   --fig_dir DIR       table and figures (figures/separation; figures/separation_real)
#   --epochs N          override every model's epochs (proposed, B1, B2, vocoder)
#   --b1_epochs N --b2_epochs N   override the epochs of B1 / B2 (win over --epochs)
#   --steps_per_epoch N --max_minutes M   override every model's steps per epoch / time budget
#   --methods "M..."    methods of stage 5 (ibm_gt b1_gt b1 b2 proposed_gt proposed)
#   --seed N            (0)
#   --split NAME        the mixtures stages 5 and 6 separate and score: test, or val to choose settings (test)
#   --resume true|false continue interrupted or finished trainings (true); false starts over
#   --jemalloc          run under jemalloc (opt-in; see separation/_stage.sh)
#   --show              print the effective settings and the commands of the selected stages
# Everything after -- goes to every selected stage (and on to its Python command): use it with
# a single stage, e.g. --stage 2 --stop_stage 2 -- --batch_size 8.
set -euo pipefail
stage=1 stop_stage=6 preset="" realdata="" speech_dir="" noise_dir="" src_dir=data/separation_src
synth_minutes=2.5 data_dir="" model_dir="" out_dir="" fig_dir="" epochs="" b1_epochs="" b2_epochs=""
steps_per_epoch="" max_minutes="" methods="ibm_gt b1_gt b1 b2 proposed_gt proposed" seed=0
resume=true jemalloc=false show=false split=test
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
cd "$(dirname "$0")/.."

suffix=""
if [ -n "$realdata" ]; then
  [ -f "$realdata/ljspeech_sample/metadata.csv" ] || {
    echo "error: $realdata: no ljspeech_sample/metadata.csv (see --help)" >&2; exit 1; }
  : "${speech_dir:=$realdata/ljspeech_sample}"
  : "${noise_dir:=$realdata/noise/esc50_sample $realdata/noise/lincity_sfx $realdata/noise/speechbrain_noise}"
  : "${preset:=realdata}"
  suffix=_real
fi
: "${preset:=default}" "${data_dir:=data/separation$suffix}" "${model_dir:=models/separation$suffix}"
: "${out_dir:=output/separation$suffix}" "${fig_dir:=figures/separation$suffix}"

common=(--stage "$stage" --stop_stage "$stop_stage" --show "$show")
train=(--preset "$preset" --seed "$seed" --resume "$resume" --jemalloc "$jemalloc")
opt() { [ -z "$2" ] || printf '%s\n' "--$1" "$2"; }  # opt NAME VALUE: the flag, if VALUE is set
mapfile -t budget < <(opt steps_per_epoch "$steps_per_epoch"; opt max_minutes "$max_minutes")
stage_args() {  # the options of stage $1, one word per line
  case $1 in
    1) opt data_dir "$data_dir"; opt speech_dir "$speech_dir"; opt noise_dir "$noise_dir"
       opt src_dir "$src_dir"; opt synth_minutes "$synth_minutes"; opt preset "$preset"; opt seed "$seed" ;;
    2) printf '%s\n' --data_dir "$data_dir" --model_dir "$model_dir" "${train[@]}" ${budget[@]+"${budget[@]}"}
       opt epochs "$epochs"; opt b1_epochs "$b1_epochs" ;;
    3) printf '%s\n' --data_dir "$data_dir" --model_dir "$model_dir" "${train[@]}" ${budget[@]+"${budget[@]}"}
       opt epochs "${b2_epochs:-$epochs}" ;;
    4) opt speech_dir "$speech_dir"; opt src_dir "$src_dir"; opt synth_minutes "$synth_minutes"
       printf '%s\n' --model_dir "$model_dir" "${train[@]}" ${budget[@]+"${budget[@]}"}; opt epochs "$epochs" ;;
    5) printf '%s\n' --data_dir "$data_dir" --model_dir "$model_dir" --out_dir "$out_dir" \
           --methods "$methods" --seed "$seed" --jemalloc "$jemalloc" --split "$split" ;;
    6) printf '%s\n' --data_dir "$data_dir" --out_dir "$out_dir" --fig_dir "$fig_dir" --split "$split" ;;
  esac
}

if [ "$show" = true ]; then
  for v in stage stop_stage preset realdata speech_dir noise_dir src_dir synth_minutes data_dir model_dir \
           out_dir fig_dir epochs b1_epochs b2_epochs steps_per_epoch max_minutes methods seed resume jemalloc split; do
    printf '%s=%s\n' "$v" "${!v}"
  done
fi
t0=$(date +%s)
for n in 1 2 3 4 5 6; do
  stage_on "$n" || continue
  script=$(ls separation/0"$n"_*.sh)
  echo "=== stage $n: $script ($(( $(date +%s) - t0 )) s elapsed)"
  mapfile -t args < <(stage_args "$n")
  bash "$script" "${common[@]}" "${args[@]}" ${1+-- "$@"}
done
[ "$show" = true ] || echo "=== done in $(( $(date +%s) - t0 )) s; table: $fig_dir/separation_table.csv"
