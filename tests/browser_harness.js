// The test page's script: loads byos-upload.js like an import service's page would, and exposes
// window.runUpload(plan, options) for the tests, which call it over the DevTools protocol.
import { upload, UploadError } from "/byos-upload.js";

window.runUpload = async (plan, opts = {}) => {
  const response = await fetch(`/data/${opts.data}`);
  const blob = await response.blob();
  const file = new File([blob], opts.filename || "upload.bin", { type: opts.type || "" });
  const events = [];
  const controller = new AbortController();
  const options = {
    signal: controller.signal,
    concurrency: opts.concurrency,
    retries: opts.retries,
    retryDelayMs: opts.retryDelayMs ?? 50,
    stallTimeoutMs: opts.stallTimeoutMs,
    onProgress: (p) => {
      events.push({ ...p });
      if (opts.abortAtBytes !== undefined && p.bytesSent >= opts.abortAtBytes) controller.abort();
      if (opts.abortAtParts !== undefined && p.partsDone >= opts.abortAtParts) controller.abort();
    },
  };
  if (opts.abortAfterMs !== undefined) setTimeout(() => controller.abort(), opts.abortAfterMs);
  if (opts.abortBefore) controller.abort();
  try {
    const result = await upload(file, plan, options);
    return { ok: true, result, events };
  } catch (error) {
    return {
      ok: false,
      error: {
        isUploadError: error instanceof UploadError,
        name: error.name,
        code: error.code,
        status: error.status,
        message: String(error.message),
      },
      events,
    };
  }
};

window.byosReady = true;
