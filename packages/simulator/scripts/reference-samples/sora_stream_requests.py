# The Sora page's streaming sample uses the `openai` Python client, which Debian does not package.
# This is the same program with `requests` doing what `client.chat.completions.create(stream=True)`
# does: POST /v1/chat/completions with stream=true and read the SSE `data:` lines. The printing and
# the link extraction are the sample's own, except that the regex also accepts http:// (the
# simulator's CDN is plain HTTP; the sample's regex only matches https://).
import json
import re

import requests

API_KEY = "YOUR_API_KEY"
BASE_URL = "https://api.laozhang.ai/v1"

response = requests.post(
    f"{BASE_URL}/chat/completions",
    headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    json={
        "model": "sora_video2",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "A cute cat playing with a ball in a sunny garden"
                    }
                ]
            }
        ],
        "stream": True
    },
    stream=True
)
response.raise_for_status()

# Store full content to extract video link
full_content = ""

print("Generation progress:\n")
for line in response.iter_lines(decode_unicode=True):
    if not line or not line.startswith("data: "):
        continue
    data = line[len("data: "):]
    if data == "[DONE]":
        break
    chunk = json.loads(data)
    if chunk["choices"][0]["delta"].get("content"):
        content = chunk["choices"][0]["delta"]["content"]
        print(content, end='', flush=True)
        full_content += content

print("\n")

# Extract video link
video_url_match = re.search(r'https?://[^\s\)]+\.mp4', full_content)
if video_url_match:
    video_url = video_url_match.group(0)
    print(f"\n✅ Video link: {video_url}")
    print("⚠️  Video valid for 1 day, download immediately!")
else:
    print("\n❌ Video link not found, generation may have failed")
    raise SystemExit(1)
