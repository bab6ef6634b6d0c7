/**
 * One download through the `openai` package: `videos.downloadContent(id)` read to an ArrayBuffer
 * (as the SDK's examples do), then written to a file. Pointed at the official forward's `/content`,
 * which answers the MP4 bytes as OpenAI's does (laozhang's async `/content` answers JSON instead).
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import OpenAI from "openai"
import { input, report } from "./common.js"

const { urls, apiKey, outDir, settings } = input()
const client = new OpenAI({ apiKey, baseURL: urls.laozhang })

const main = async () => {
  const startedAt = Date.now()
  const response = await client.videos.downloadContent(String(settings.taskId))
  const bytes = Buffer.from(await response.arrayBuffer())
  await NodeFs.promises.writeFile(`${outDir}/openai.mp4`, bytes)
  const endedAt = Date.now()
  report({
    startedAt,
    endedAt,
    saved: 1,
    failed: 0,
    bytes: bytes.length,
    sha256: settings.verify === true ? createHash("sha256").update(bytes).digest("hex") : undefined
  })
}

void main()
