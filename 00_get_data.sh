#!/usr/bin/env bash
# Stage 0 (ResGAN): get the raw data and package it into ResGAN's NetCDF files.
#
#   bash 00_get_data.sh [--synthetic] [--offline] [--data_dir data] [--minutes 3] [--sr 16000]
#                       [--seed 0] [--noise_seconds 5] [--figures_dir figures]
#                       [--train_dir traindata] [--test_dir testdata] [--stage N --stop_stage M]
#
# Online (default): downloads
#   * the original ResGAN packaged data (data.zip, NetCDF) from $RESGAN_DATA_URL
#     (no stable public URL is known: set RESGAN_DATA_URL, and RESGAN_DATA_SHA256
#     to verify it) -> <data_dir>/resgan/
#   * CMU ARCTIC, speaker slt (festvox) -> <data_dir>/cmu_us_slt_arctic/
# with a short connect timeout, sha256 checks when the checksum is known, and
# a clear message when the machine is offline.
# Offline, with --offline, or when the speech download fails, and always with
# --synthetic (what run.sh uses): the embedded synthetic speech corpus
# (source-filter synthesizer with ground truth F0 / voicing / GCIs / all-pole
# filters, deterministic) is generated into <data_dir>/synthetic (16 kHz,
# --minutes of speech, about 10 s of CPU), with a figure of its first utterance
# in <figures_dir>/synthetic_corpus.png.
# Synthetic noises (ESC-50 layout, --noise_seconds clips) always go to <data_dir>/noise.
# Last, the speech is packaged into ResGAN's NetCDF data in <train_dir> and
# <test_dir> (the original data.zip is used as is when it was downloaded); the
# source folder is noted in <train_dir>/.source.
# Re-running skips whatever is already there (idempotent).
#
# Options:
#   --synthetic / --offline    switches (see above); --seed seeds the corpus, noises and split
#   --stage N --stop_stage M   run only if 0 is in [N, M] (run.sh passes them on)
# Environment (documented overrides): PYTHON (default python), RESGAN_DATA_URL,
# RESGAN_DATA_SHA256, ARCTIC_URL, ARCTIC_SHA256, CONNECT_TIMEOUT (s, default 10),
# MAX_TIME (s, default 1800).
set -euo pipefail
synthetic=false offline=false data_dir=data minutes=3 sr=16000 seed=0 noise_seconds=5
figures_dir=figures train_dir=traindata test_dir=testdata
. "$(dirname "$0")/utils/parse_options.sh" "$@"
stage_on 0 || exit 0
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}

RESGAN_DATA_URL=${RESGAN_DATA_URL:-}
RESGAN_DATA_SHA256=${RESGAN_DATA_SHA256:-}
ARCTIC_URL=${ARCTIC_URL:-http://festvox.org/cmu_arctic/packed/cmu_us_slt_arctic-0.95-release.tar.bz2}
ARCTIC_SHA256=${ARCTIC_SHA256:-}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-10}
MAX_TIME=${MAX_TIME:-1800}

mkdir -p "$data_dir/downloads"

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

if [ "$synthetic" = true ]; then
  echo "[00] --synthetic: skipping downloads"
elif [ "$offline" = true ]; then
  echo "[00] --offline: skipping downloads"
else
  echo "[00] original ResGAN packaged data (data.zip)"
  if [ -f "$data_dir/resgan/.complete" ]; then
    echo "  $data_dir/resgan already there"
  elif [ -z "$RESGAN_DATA_URL" ]; then
    echo "  RESGAN_DATA_URL is not set (no stable public URL is known); skipping."
    echo "  To use it: RESGAN_DATA_URL=<url of data.zip> [RESGAN_DATA_SHA256=<sha>] $0"
  elif download "$RESGAN_DATA_URL" "$data_dir/downloads/resgan_data.zip" "$RESGAN_DATA_SHA256"; then
    rm -rf "$data_dir/resgan.tmp"
    "$PYTHON" -m zipfile -e "$data_dir/downloads/resgan_data.zip" "$data_dir/resgan.tmp"
    rm -rf "$data_dir/resgan" && mv "$data_dir/resgan.tmp" "$data_dir/resgan"
    touch "$data_dir/resgan/.complete"
    echo "  unpacked to $data_dir/resgan"
  fi

  echo "[00] CMU ARCTIC, speaker slt"
  ARCTIC_DIR="$data_dir/cmu_us_slt_arctic"
  if [ -f "$ARCTIC_DIR/.complete" ]; then
    echo "  $ARCTIC_DIR already there"
    HAVE_SPEECH=1
  elif download "$ARCTIC_URL" "$data_dir/downloads/cmu_us_slt_arctic.tar.bz2" "$ARCTIC_SHA256"; then
    rm -rf "$data_dir/arctic.tmp" && mkdir -p "$data_dir/arctic.tmp"
    tar -xjf "$data_dir/downloads/cmu_us_slt_arctic.tar.bz2" -C "$data_dir/arctic.tmp"
    rm -rf "$ARCTIC_DIR" && mv "$data_dir/arctic.tmp"/cmu_us_slt_arctic* "$ARCTIC_DIR"
    rm -rf "$data_dir/arctic.tmp"
    "$PYTHON" -c 'import sys; from corpus.readers import read_cmu_arctic; print(f"  {len(read_cmu_arctic(sys.argv[1]))} utterances in {sys.argv[1]}")' "$ARCTIC_DIR"
    touch "$ARCTIC_DIR/.complete"
    HAVE_SPEECH=1
  fi
fi

if [ "$synthetic" = true ] || [ "$HAVE_SPEECH" = 0 ]; then
  if [ "$synthetic" = false ]; then
    echo "[00] no real speech corpus available: falling back to the embedded synthetic corpus"
  fi
  echo "[00] synthetic speech corpus -> $data_dir/synthetic"
  if [ -s "$data_dir/synthetic/metadata.csv" ]; then
    echo "  $data_dir/synthetic already there ($(wc -l < "$data_dir/synthetic/metadata.csv") utterances)"
  else
    "$PYTHON" -m corpus.make_synthetic --out_dir "$data_dir/synthetic" --minutes "$minutes" \
      --sr "$sr" --seed "$seed" --plot "$figures_dir/synthetic_corpus.png"
  fi
fi

echo "[00] synthetic noises (ESC-50 layout) -> $data_dir/noise"
if [ -s "$data_dir/noise/meta/esc50.csv" ]; then
  echo "  $data_dir/noise already there"
else
  "$PYTHON" -m corpus.make_noises --out_dir "$data_dir/noise" --sr "$sr" --seed "$seed" \
    --seconds "$noise_seconds"
fi

# --- packaging (ResGAN) ---
echo "[00] ResGAN training data -> $train_dir/ $test_dir/"
if [ "$synthetic" = false ] && [ -f "$data_dir/resgan/.complete" ]; then
  PACK_SRC="$data_dir/resgan"                      # the original data.zip, used as is
elif [ "$synthetic" = false ] && [ -f "$data_dir/cmu_us_slt_arctic/.complete" ]; then
  PACK_SRC="$data_dir/cmu_us_slt_arctic/wav"
else
  PACK_SRC="$data_dir/synthetic/wav"
fi
if [ -f "$train_dir/data.nc1" ] && [ "$(cat "$train_dir/.source" 2> /dev/null)" = "$PACK_SRC" ]; then
  echo "  $train_dir/ already packaged from $PACK_SRC"
elif [ "$PACK_SRC" = "$data_dir/resgan" ]; then
  "$PYTHON" data_utils.py import --src "$PACK_SRC" --out_dir "$train_dir" --test_dir "$test_dir"
  mkdir -p "$train_dir" && echo "$PACK_SRC" > "$train_dir/.source"
else
  "$PYTHON" data_utils.py package --wav_dir "$PACK_SRC" --out_dir "$train_dir" --test_dir "$test_dir" \
    --figures_dir "$figures_dir" --seed "$seed" --files_per_nc 16
  mkdir -p "$train_dir" && echo "$PACK_SRC" > "$train_dir/.source"
fi
# --- end packaging ---

echo "[00] data ready in $data_dir"
