/**
 * One download through the `openai` package: `videos.downloadContent(id)`, pointed at the official
 * forward's `/content`, which answers the MP4 bytes as OpenAI's does (laozhang's async `/content`
 * answers JSON instead). Two ways to read it:
 *
 * - default: to an ArrayBuffer (as the SDK's examples do), then written to a file;
 * - `settings.stream`: `for await` over `response.body`, each chunk written to the file as it comes
 *   (waiting for the write stream to drain), the way a careful caller would read a large video.
 *
 * Neither hashes or fsyncs: this is the SDK as it is used, not reelay's guarantees.
 */
import { createHash } from "node:crypto"
import { once } from "node:events"
import * as NodeFs from "node:fs"
import OpenAI from "openai"
import { input, report } from "./common.js"

const { urls, apiKey, outDir, settings } = input()
const client = new OpenAI({ apiKey, baseURL: urls.laozhang })
const path = `${outDir}/openai.mp4`

const asBuffer = async (response: Response): Promise<number> => {
  const bytes = Buffer.from(await response.arrayBuffer())
  await NodeFs.promises.writeFile(path, bytes)
  return bytes.length
}

const asStream = async (response: Response): Promise<number> => {
  const out = NodeFs.createWriteStream(path)
  let size = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length
    if (!out.write(chunk)) await once(out, "drain")
  }
  out.end()
  await once(out, "close")
  return size
}

const main = async () => {
  const startedAt = Date.now()
  const response = await client.videos.downloadContent(String(settings.taskId))
  const bytes = settings.stream === true ? await asStream(response) : await asBuffer(response)
  const endedAt = Date.now()
  report({
    startedAt,
    endedAt,
    saved: 1,
    failed: 0,
    bytes,
    sha256: settings.verify === true ? createHash("sha256").update(NodeFs.readFileSync(path)).digest("hex") : undefined
  })
}

void main()
