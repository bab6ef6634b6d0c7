/**
 * @reelay/client — reelay for code that does not use Effect: `createClient()`, then
 * `await reelay.generate({ prompt, output })`.
 *
 * @since 0.1.0
 */
export {
  type BatchInput,
  type BatchOptions,
  type BatchRun,
  type BatchStatus,
  type CallOptions,
  type Client,
  type ClientOptions,
  type CostRow,
  createClient,
  type GenerateInput,
  type ItemStatus,
  type ModelInfo,
  type ResumeOptions,
  type RunReport,
  type Video
} from "./Client.js"
export {
  Aborted,
  AuthenticationFailed,
  type Billing,
  BudgetExceeded,
  ConfigFileError,
  ContentRejected,
  DownloadFailed,
  GenerationFailed,
  InsufficientBalance,
  InvalidRequest,
  JournalError,
  MalformedResponse,
  PollTimeout,
  ProviderUnavailable,
  RateLimited,
  type ResumeHandle,
  TaskExpired,
  TaskNotFound,
  UncertainSubmission,
  UsageError,
  VideoError
} from "./Errors.js"
