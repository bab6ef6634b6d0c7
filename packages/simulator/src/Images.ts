/**
 * Input images as the simulated vendors check them: uploaded files must really be images (by their
 * magic bytes) within a size limit; image URLs must be http(s) URLs or base64 `data:` URLs. Nothing is
 * fetched: the simulator stays offline.
 *
 * @since 0.1.0
 */

/** 10 MiB per image. */
export const maxImageBytes = 10 * 1024 * 1024

/** The image format of `bytes`, if it is one the vendors take. */
export const sniff = (bytes: Uint8Array): "jpeg" | "png" | "webp" | "gif" | undefined => {
  const at = (i: number) => bytes[i] ?? -1
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return "jpeg"
  if (at(0) === 0x89 && at(1) === 0x50 && at(2) === 0x4e && at(3) === 0x47) return "png"
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp"
  if (bytes.length >= 6 && (ascii(0, 6) === "GIF87a" || ascii(0, 6) === "GIF89a")) return "gif"
  return undefined
}

/** Why an uploaded file is not an acceptable image, or `undefined` when it is. */
export const checkFile = (name: string, bytes: Uint8Array): string | undefined => {
  if (bytes.length === 0) return `${name} is empty`
  if (bytes.length > maxImageBytes) return `${name} is larger than ${maxImageBytes} bytes`
  if (sniff(bytes) === undefined) return `${name} is not a JPEG, PNG, WebP or GIF image`
  return undefined
}

/** Why an image URL is not acceptable, or `undefined` when it is. */
export const checkUrl = (name: string, url: string): string | undefined => {
  if (url.startsWith("data:")) {
    const match = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i.exec(url)
    if (match === null) return `${name} must be an http(s) URL or a data:image/...;base64 URL`
    return checkFile(name, Buffer.from(match[2] ?? "", "base64"))
  }
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `${name} must be an http(s) URL`
    return undefined
  } catch {
    return `${name} is not a valid URL`
  }
}
