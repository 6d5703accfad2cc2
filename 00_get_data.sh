#!/usr/bin/env bash
# Stage 00: get the raw data.
#
#   ./00_get_data.sh [--synthetic] [--offline] [--data_dir data] [--minutes 3] [--sr 16000]
#                    [--seed 0] [--noise_seconds 5] [--figures_dir figures]
#                    [--train_dir traindata] [--test_dir testdata]
#
# Online (default): downloads
#   * the original ResGAN packaged data (data.zip, NetCDF) from $RESGAN_DATA_URL
#     (no stable public URL is known: set RESGAN_DATA_URL, and RESGAN_DATA_SHA256
#     to verify it) -> <data_dir>/resgan/
#   * CMU ARCTIC, speaker slt (festvox) -> <data_dir>/cmu_us_slt_arctic/
# with a short connect timeout, sha256 checks when the checksum is known, and
# a clear message when the machine is offline.
# Offline, with --offline, or when the speech download fails, and always with
# --synthetic: the embedded synthetic speech corpus (source-filter synthesizer
# with ground truth F0 / voicing / GCIs / all-pole filters, deterministic) is
# generated into <data_dir>/synthetic (16 kHz, 3 minutes, about 10 s of CPU),
# with a figure of its first utterance in <figures_dir>/synthetic_corpus.png.
# Synthetic noises (ESC-50 layout, 5 s clips) always go to <data_dir>/noise.
# Last, the speech is packaged into ResGAN's NetCDF data in <train_dir> and
# <test_dir> (the original data.zip is used as is when it was downloaded).
# Re-running skips whatever is already there (idempotent).
#
# Environment: PYTHON (default python), RESGAN_DATA_URL, RESGAN_DATA_SHA256,
# ARCTIC_URL, ARCTIC_SHA256, CONNECT_TIMEOUT (s, default 10), MAX_TIME (s, default 1800).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python}
DATA_DIR=data
SYNTHETIC=0
OFFLINE=0
MINUTES=3
SR=16000
SEED=0
NOISE_SECONDS=5
FIGURES_DIR=figures
TRAIN_DIR=traindata
TEST_DIR=testdata

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --synthetic) SYNTHETIC=1 ;;
    --offline) OFFLINE=1 ;;
    --data_dir) DATA_DIR=${2:?--data_dir needs a value}; shift ;;
    --data_dir=*) DATA_DIR=${1#*=} ;;
    --minutes) MINUTES=${2:?--minutes needs a value}; shift ;;
    --minutes=*) MINUTES=${1#*=} ;;
    --sr) SR=${2:?--sr needs a value}; shift ;;
    --sr=*) SR=${1#*=} ;;
    --seed) SEED=${2:?--seed needs a value}; shift ;;
    --seed=*) SEED=${1#*=} ;;
    --noise_seconds) NOISE_SECONDS=${2:?--noise_seconds needs a value}; shift ;;
    --noise_seconds=*) NOISE_SECONDS=${1#*=} ;;
    --figures_dir) FIGURES_DIR=${2:?--figures_dir needs a value}; shift ;;
    --figures_dir=*) FIGURES_DIR=${1#*=} ;;
    --train_dir) TRAIN_DIR=${2:?--train_dir needs a value}; shift ;;
    --train_dir=*) TRAIN_DIR=${1#*=} ;;
    --test_dir) TEST_DIR=${2:?--test_dir needs a value}; shift ;;
    --test_dir=*) TEST_DIR=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

RESGAN_DATA_URL=${RESGAN_DATA_URL:-}
RESGAN_DATA_SHA256=${RESGAN_DATA_SHA256:-}
ARCTIC_URL=${ARCTIC_URL:-http://festvox.org/cmu_arctic/packed/cmu_us_slt_arctic-0.95-release.tar.bz2}
ARCTIC_SHA256=${ARCTIC_SHA256:-}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-10}
MAX_TIME=${MAX_TIME:-1800}

mkdir -p "$DATA_DIR/downloads"

sha256_of() { "$PYTHON" -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(b) for b in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$1"; }

# download URL DEST [SHA256]: fetch to DEST.part, verify, rename; returns 1 on failure.
download() {
  local url=$1 dest=$2 sha=${3:-}
  if [ -s "$dest" ]; then
    echo "  $dest already downloaded"
  else
    echo "  downloading $url"
    if ! command -v curl > /dev/null; then
      echo "  curl is not installed: cannot download $url (use --offline or --synthetic)" >&2
      return 1
    fi
    if ! curl -fL --connect-timeout "$CONNECT_TIMEOUT" --max-time "$MAX_TIME" \
         --speed-limit 1000 --speed-time 60 -sS -o "$dest.part" "$url"; then
      rm -f "$dest.part"
      echo "  download failed: $url (offline or unreachable; use --offline or --synthetic to skip)" >&2
      return 1
    fi
    mv "$dest.part" "$dest"
  fi
  local got
  got=$(sha256_of "$dest")
  if [ -n "$sha" ]; then
    if [ "$got" != "$sha" ]; then
      echo "  checksum mismatch for $dest: expected $sha, got $got (file removed)" >&2
      rm -f "$dest"
      return 1
    fi
    echo "  sha256 ok"
  else
    echo "  sha256 $got (no reference checksum known; set it to pin this file)"
  fi
}

HAVE_SPEECH=0

if [ "$SYNTHETIC" = 1 ]; then
  echo "[00] --synthetic: skipping downloads"
elif [ "$OFFLINE" = 1 ]; then
  echo "[00] --offline: skipping downloads"
else
  echo "[00] original ResGAN packaged data (data.zip)"
  if [ -f "$DATA_DIR/resgan/.complete" ]; then
    echo "  $DATA_DIR/resgan already there"
  elif [ -z "$RESGAN_DATA_URL" ]; then
    echo "  RESGAN_DATA_URL is not set (no stable public URL is known); skipping."
    echo "  To use it: RESGAN_DATA_URL=<url of data.zip> [RESGAN_DATA_SHA256=<sha>] $0"
  elif download "$RESGAN_DATA_URL" "$DATA_DIR/downloads/resgan_data.zip" "$RESGAN_DATA_SHA256"; then
    rm -rf "$DATA_DIR/resgan.tmp"
    "$PYTHON" -m zipfile -e "$DATA_DIR/downloads/resgan_data.zip" "$DATA_DIR/resgan.tmp"
    rm -rf "$DATA_DIR/resgan" && mv "$DATA_DIR/resgan.tmp" "$DATA_DIR/resgan"
    touch "$DATA_DIR/resgan/.complete"
    echo "  unpacked to $DATA_DIR/resgan"
  fi

  echo "[00] CMU ARCTIC, speaker slt"
  ARCTIC_DIR="$DATA_DIR/cmu_us_slt_arctic"
  if [ -f "$ARCTIC_DIR/.complete" ]; then
    echo "  $ARCTIC_DIR already there"
    HAVE_SPEECH=1
  elif download "$ARCTIC_URL" "$DATA_DIR/downloads/cmu_us_slt_arctic.tar.bz2" "$ARCTIC_SHA256"; then
    rm -rf "$DATA_DIR/arctic.tmp" && mkdir -p "$DATA_DIR/arctic.tmp"
    tar -xjf "$DATA_DIR/downloads/cmu_us_slt_arctic.tar.bz2" -C "$DATA_DIR/arctic.tmp"
    rm -rf "$ARCTIC_DIR" && mv "$DATA_DIR/arctic.tmp"/cmu_us_slt_arctic* "$ARCTIC_DIR"
    rm -rf "$DATA_DIR/arctic.tmp"
    "$PYTHON" -c 'import sys; from corpus.readers import read_cmu_arctic; print(f"  {len(read_cmu_arctic(sys.argv[1]))} utterances in {sys.argv[1]}")' "$ARCTIC_DIR"
    touch "$ARCTIC_DIR/.complete"
    HAVE_SPEECH=1
  fi
fi

if [ "$SYNTHETIC" = 1 ] || [ "$HAVE_SPEECH" = 0 ]; then
  if [ "$SYNTHETIC" = 0 ]; then
    echo "[00] no real speech corpus available: falling back to the embedded synthetic corpus"
  fi
  echo "[00] synthetic speech corpus -> $DATA_DIR/synthetic"
  if [ -s "$DATA_DIR/synthetic/metadata.csv" ]; then
    echo "  $DATA_DIR/synthetic already there ($(wc -l < "$DATA_DIR/synthetic/metadata.csv") utterances)"
  else
    "$PYTHON" -m corpus.make_synthetic --out_dir "$DATA_DIR/synthetic" --minutes "$MINUTES" \
      --sr "$SR" --seed "$SEED" --plot "$FIGURES_DIR/synthetic_corpus.png"
  fi
fi

echo "[00] synthetic noises (ESC-50 layout) -> $DATA_DIR/noise"
if [ -s "$DATA_DIR/noise/meta/esc50.csv" ]; then
  echo "  $DATA_DIR/noise already there"
else
  "$PYTHON" -m corpus.make_noises --out_dir "$DATA_DIR/noise" --sr "$SR" --seed "$SEED" \
    --seconds "$NOISE_SECONDS"
fi

# --- packaging (ResGAN) ---
echo "[00] ResGAN training data -> $TRAIN_DIR/ $TEST_DIR/"
if [ "$SYNTHETIC" = 0 ] && [ -f "$DATA_DIR/resgan/.complete" ]; then
  PACK_SRC="$DATA_DIR/resgan"                      # the original data.zip, used as is
elif [ "$SYNTHETIC" = 0 ] && [ -f "$DATA_DIR/cmu_us_slt_arctic/.complete" ]; then
  PACK_SRC="$DATA_DIR/cmu_us_slt_arctic/wav"
else
  PACK_SRC="$DATA_DIR/synthetic/wav"
fi
if [ -f "$TRAIN_DIR/data.nc1" ] && [ "$(cat "$TRAIN_DIR/.source" 2> /dev/null)" = "$PACK_SRC" ]; then
  echo "  $TRAIN_DIR/ already packaged from $PACK_SRC"
elif [ "$PACK_SRC" = "$DATA_DIR/resgan" ]; then
  "$PYTHON" data_utils.py import --src "$PACK_SRC" --out_dir "$TRAIN_DIR" --test_dir "$TEST_DIR"
  echo "$PACK_SRC" > "$TRAIN_DIR/.source"
else
  "$PYTHON" data_utils.py package --wav_dir "$PACK_SRC" --out_dir "$TRAIN_DIR" --test_dir "$TEST_DIR" \
    --figures_dir "$FIGURES_DIR" --seed "$SEED" --files_per_nc 16
  echo "$PACK_SRC" > "$TRAIN_DIR/.source"
fi
# --- end packaging ---

echo "[00] data ready in $DATA_DIR"
