/**
 * @reelay/openai-videos — the shared `/v1/videos` wire protocol as a configurable provider.
 *
 * @since 0.1.0
 */

/** Building the create call: JSON or multipart, parameters, images. */
export * as CreateRequest from "./CreateRequest.js"
/** The one mapping from wire failures to core errors. */
export * as ErrorMapping from "./ErrorMapping.js"
/** One JSON exchange with a vendor, for any protocol: the key, the body cap, failures mapped. */
export * as Exchange from "./Exchange.js"
/** Image URLs downloaded by reelay, for dialects that upload them (`urlImages: "upload"`). */
export * as ImageFetch from "./ImageFetch.js"
/** The configurable `/v1/videos` provider: `make`, `layer`. */
export * as OpenAiVideos from "./OpenAiVideos.js"
/** A reseller packaged in code (laozhang, apiyi): `define` builds its options and constructors. */
export * as Packaged from "./Packaged.js"
/** The dialect options: auth style, encodings, how URL images travel, id field, status vocabulary, content style. */
export * as Protocol from "./Protocol.js"
/** A reseller defined in configuration alone: `fromConfig`. */
export * as Reseller from "./Reseller.js"
/** Keeping keys and CDN tokens out of error messages. */
export * as Sanitize from "./Sanitize.js"
/** The Veo 3.1 family as resellers name it: variants and a catalog under a reseller's terms. */
export * as VeoFamily from "./VeoFamily.js"
/** The Schemas of the protocol's bodies. */
export * as WireSchemas from "./WireSchemas.js"
