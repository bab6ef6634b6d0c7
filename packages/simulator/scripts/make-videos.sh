#!/usr/bin/env bash
# Generates the simulator's videos: one small, valid MP4 (H.264 + AAC audio) for every frame size and
# duration the reference pages document. Run once with Debian's ffmpeg; the outputs are committed.
#   apt-get install ffmpeg && packages/simulator/scripts/make-videos.sh
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/videos"
mkdir -p "$out"

make() { # make WIDTHxHEIGHT SECONDS
  local size=$1 seconds=$2 file="$out/$1-$2s.mp4"
  # A moving test pattern at a low frame rate and a quiet sine tone keep files small but real:
  # correct dimensions, duration and an audio track, playable by any player.
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=${size}:rate=6" \
    -f lavfi -i "sine=frequency=440:sample_rate=16000" \
    -t "$seconds" -map 0:v -map 1:a \
    -c:v libx264 -preset veryslow -crf 50 -pix_fmt yuv420p -g 48 \
    -c:a aac -b:a 12k -ac 1 \
    -movflags +faststart "$file"
  printf '%s %s bytes\n' "$(basename "$file")" "$(stat -c %s "$file")"
}

# Veo 3.1 on laozhang / apiyi: 8 s, 720x1280 portrait or 1280x720 landscape.
make 720x1280 8
make 1280x720 8
# Veo 3.1 official forward: 4 / 6 / 8 s at 720p; 1080p and 4k need 8 s.
make 1280x720 4
make 1280x720 6
make 720x1280 4
make 720x1280 6
make 1920x1080 8
make 1080x1920 8
make 3840x2160 8
# Sora 2 through laozhang: 704x1280 / 1280x704, 10 s or 15 s.
make 704x1280 10
make 704x1280 15
make 1280x704 10
make 1280x704 15
