#!/usr/bin/env bash
# Runs the reference pages' own sample requests against a standalone simulator, changing only the
# base URL (and, for the apiyi frame-to-video samples, the placeholder image path):
#   - curl: laozhang async create; apiyi create / status / content / first-frame / first+last frame;
#     Sora text-to-video and image-to-video.
#   - Python with Debian's python3-requests (/usr/bin/python3): laozhang's "Python Example (with
#     Polling Logic)" and apiyi's "Python Complete Example", copied verbatim into reference-samples/
#     and run with their base URL rewritten by sed; Sora's streaming sample adapted to requests
#     (the page's uses the openai client).
#   - The official-forward page lost its code blocks; its parameter table's suggested requests are
#     sent with curl instead (720p, 1080p portrait, 4k with metadata, image-to-video, polling on both
#     paths, /content bytes checked with ffprobe).
# Usage: packages/simulator/scripts/run-reference-samples.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pkg="$(dirname "$here")"
python=/usr/bin/python3
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$pkg/node_modules/.bin/tsx" "$pkg/src/bin.ts" --json > "$work/urls.json" &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/urls.json" ] && break; sleep 0.1; done
url() { "$python" -c "import json,sys; print(json.load(open('$work/urls.json'))['$1'])"; }
LAOZHANG="$(url laozhang)"   # http://127.0.0.1:P/laozhang/v1   (was https://api.laozhang.ai/v1)
APIYI="$(url apiyi)"         # http://127.0.0.1:P/apiyi/v1      (was https://api.apiyi.com/v1)
CONTROL="$(url control)"
echo "simulator: $LAOZHANG  $APIYI  $(url cdn)"

pass=0
ok() { pass=$((pass + 1)); echo "  ok: $*"; }
fail() { echo "  FAILED: $*" >&2; exit 1; }
field() { "$python" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if command -v ffmpeg > /dev/null; then
  ffmpeg -hide_banner -loglevel error -f lavfi -i "color=c=blue:s=1280x720" -frames:v 1 "$work/image.jpg"
  cp "$work/image.jpg" "$work/first-frame.jpg"
  ffmpeg -hide_banner -loglevel error -f lavfi -i "color=c=black:s=1280x720" -frames:v 1 "$work/last-frame.jpg"
else
  printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\xff\xd9' | tee "$work/image.jpg" "$work/first-frame.jpg" > "$work/last-frame.jpg"
fi

echo "== laozhang async: curl (Complete Example)"
out="$(curl -s -X POST "$LAOZHANG/videos" \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "model": "veo-3.1",
    "prompt": "A cute cat playing with a ball in a sunny garden"
  }')"
echo "  $out"
[ "$(echo "$out" | field '["status"]')" = queued ] && ok "create → queued" || fail "create → queued"

echo "== apiyi: curl (create, status, content)"
out="$(curl --location --request POST "$APIYI/videos" \
--header 'Authorization: sk-your-api-key' \
--header 'Content-Type: application/json' \
--data-raw '{
    "prompt": "A cute kitten playing",
    "model": "veo-3.1"
}')"
echo "  $out"
id="$(echo "$out" | field '["id"]')"
out="$(curl -s --location --request GET "$APIYI/videos/$id" \
--header 'Authorization: sk-your-api-key')"
echo "  $out"
[ "$(echo "$out" | field '["id"]')" = "$id" ] && ok "status" || fail "status"
until [ "$(curl -s "$APIYI/videos/$id" --header 'Authorization: sk-your-api-key' | field '["status"]')" = completed ]; do sleep 1; done
out="$(curl -s --location --request GET "$APIYI/videos/$id/content" \
--header 'Authorization: sk-your-api-key')"
echo "  $out"
[ "$(echo "$out" | field '["resolution"]')" = 720x1280 ] && ok "content → url, duration 8, 720x1280" || fail "content → url, duration 8, 720x1280"

echo "== apiyi: curl frame-to-video (first frame, first & last frame)"
cd "$work"
out="$(curl -s --location --request POST "$APIYI/videos" \
--header 'Authorization: sk-your-api-key' \
--form 'prompt="Bring this scene to life, camera slowly zooms in"' \
--form 'model="veo-3.1-landscape-fl"' \
--form 'input_reference=@"image.jpg"')"
echo "  $out"
[ "$(echo "$out" | field '["model"]')" = veo-3.1-landscape-fl ] && ok "first frame" || fail "first frame"
out="$(curl -s --location --request POST "$APIYI/videos" \
--header 'Authorization: sk-your-api-key' \
--form 'prompt="Transition from day to night, camera stays still"' \
--form 'model="veo-3.1-landscape-fl"' \
--form 'input_reference=@"first-frame.jpg"' \
--form 'input_reference=@"last-frame.jpg"')"
echo "  $out"
[ "$(echo "$out" | field '["status"]')" = queued ] && ok "first & last frame" || fail "first & last frame"

echo "== sora: curl text-to-video and image-to-video (stream false, waits for the video)"
out="$(curl -s -X POST "$LAOZHANG/chat/completions" \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "model": "sora_video2",
    "messages": [
      {
        "role": "user",
        "content": [
          {
            "type": "text",
            "text": "A happy cat playing with a ball in a sunny garden"
          }
        ]
      }
    ]
  }')"
echo "$out" | field '["choices"][0]["message"]["content"]' | tail -3
echo "$out" | grep -q "Video generated successfully" && ok "text-to-video" || fail "text-to-video"
out="$(curl -s -X POST "$LAOZHANG/chat/completions" \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "model": "sora_video2",
    "messages": [
      {
        "role": "user",
        "content": [
          {
            "type": "text",
            "text": "Make this character jump off the desk and come to life"
          },
          {
            "type": "image_url",
            "image_url": {
              "url": "https://filesystem.site/cdn/download/20250407/OhFd8JofOAJCsNOCsM1Y794qnkNO3L.png"
            }
          }
        ]
      }
    ]
  }')"
echo "$out" | grep -q "Video generated successfully" && ok "image-to-video" || fail "image-to-video"

echo "== official forward: curl with the page's suggested parameters"
official() { # official FIELDS... → task id
  curl -s -X POST "$LAOZHANG/videos" -H "Authorization: Bearer YOUR_API_KEY" "$@" | field '["id"]'
}
probe() { ffprobe -v error -select_streams v:0 -show_entries stream=width,height:format=duration -of csv=p=0 "$1" | tr '\n' ' '; }
t720="$(official -F model=veo-3.1-fast-generate-preview -F prompt="A lighthouse at dawn" \
  -F seconds=8 -F size=1280x720 -F resolution=720p -F aspectRatio=16:9)"
t1080="$(official -F model=veo-3.1-generate-preview -F prompt="A city street at night" \
  -F seconds=8 -F size=1080x1920 -F resolution=1080p -F aspectRatio=9:16)"
t4k="$(official -F model=veo-3.1-generate-preview -F prompt="Mountains" -F seconds=8 -F duration=8 \
  -F size=3840x2160 -F resolution=4k -F aspectRatio=16:9 \
  -F 'metadata={"durationSeconds":8,"resolution":"4k","aspectRatio":"16:9"}' -F input_reference=@image.jpg)"
for t in "$t720" "$t1080" "$t4k"; do
  until [ "$(curl -s "$LAOZHANG/videos/$t" -H "Authorization: Bearer YOUR_API_KEY" | field '["status"]')" = completed ]; do sleep 1; done
  curl -s "$LAOZHANG/video/generations/$t" -H "Authorization: Bearer YOUR_API_KEY" | field '["status"]' | grep -q completed
  curl -s -o "$t.mp4" "$LAOZHANG/videos/$t/content" -H "Authorization: Bearer YOUR_API_KEY"
  echo "  $t: $(probe "$t.mp4")"
done
[ "$(probe "$t720.mp4")" = "1280,720 8.000000 " ] && [ "$(probe "$t1080.mp4")" = "1080,1920 8.000000 " ] &&
  [ "$(probe "$t4k.mp4")" = "3840,2160 8.000000 " ] && ok "720p, 1080p portrait, 4k: bytes with the requested size" || fail "720p, 1080p portrait, 4k: bytes with the requested size"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$LAOZHANG/videos" -H "Authorization: Bearer YOUR_API_KEY" \
  -F model=veo-3.1-fast-generate-preview -F prompt=x -F resolution=4k)"
[ "$code" = 400 ] && ok "4k without metadata → 400" || fail "4k without metadata → 400"

echo "== laozhang async: Python Example (with Polling Logic), python3-requests"
sed "s|https://api.laozhang.ai/v1|$LAOZHANG|" "$here/reference-samples/laozhang_async.py" > laozhang_async.py
"$python" laozhang_async.py
[ "$(probe video.mp4)" = "720,1280 8.000000 " ] && ok "video.mp4 saved: 720x1280, 8 s" || fail "video.mp4 saved: 720x1280, 8 s"

echo "== apiyi: Python Complete Example, python3-requests"
sed "s|https://api.apiyi.com|${APIYI%/v1}|" "$here/reference-samples/apiyi_async.py" > apiyi_async.py
"$python" apiyi_async.py | tee apiyi.out
grep -q "Resolution: 720x1280" apiyi.out && ok "VEOClient: created, waited, got the URL" || fail "VEOClient: created, waited, got the URL"

echo "== sora: streaming sample (requests instead of the openai client)"
sed "s|https://api.laozhang.ai/v1|$LAOZHANG|" "$here/reference-samples/sora_stream_requests.py" > sora.py
"$python" sora.py | tail -4
ok "SSE progress and video link"

echo "== ledger"
curl -s "$CONTROL/ledger" | "$python" -c '
import json, sys
ledger = json.load(sys.stdin)
for e in ledger["entries"]:
    print("  ", e["host"], e["protocol"], e["model"], e["amount"], e["rule"])
print("   total", ledger["total"], "in", ledger["count"], "charges")'
[ "$pass" -eq 12 ] || fail "expected 12 checks, $pass passed"
echo "all $pass checks passed"
