// byos-upload.js: the browser half of byos. One ES module, no dependencies, no build step.
//
//   import { upload } from "/byos-upload.js";
//   const plan = await (await fetch("/imports/123/plan", { method: "POST" })).json();
//   const { key, etag, size } = await upload(file, plan, {
//     onProgress: (p) => bar.value = p.bytesSent / p.size,   // {bytesSent, size, partsDone, partsTotal}
//     signal: controller.signal,                             // AbortController: cancels and cleans up
//     concurrency: 4,                                        // parts in flight at once (parallel plans)
//     retries: 3,                                            // extra tries per request (network, 5xx, 408, 429)
//     stallTimeoutMs: 120000,                                // a request with no progress this long is retried
//   });
//
// It executes a byos upload plan exactly (see the byos README, "Uploading from the browser"): every header
// as given and nothing more, POST form fields in order with the file last, parts in parallel up to the
// bound, the S3 complete body from the collected ETags, the Azure block list from the block ids, the GCS
// resumable session from the start request's Location. A single-request plan (`byos presign --json`)
// works too. Errors are UploadError with a `code`: "aborted", "exists", "forbidden", "network", "http",
// "size", "plan", "cors".

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 500;
const DEFAULT_STALL_TIMEOUT_MS = 120000;
const MAX_RETRY_DELAY_MS = 8000;
const ABORT_TIMEOUT_MS = 10000;
const FORBIDDEN_HEADERS = new Set(["content-length", "host", "connection", "expect", "transfer-encoding"]);
const BODIES = new Set(["file", "range", "empty", "s3-complete", "azure-block-list"]);

/** An upload that failed, with a `code` saying why and the HTTP `status` when there was one. */
export class UploadError extends Error {
  constructor(message, { code, status = 0, step = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = code === "aborted" ? "AbortError" : "UploadError";
    this.code = code;
    this.status = status;
    this.step = step;
  }
}

/**
 * Upload `file` (a Blob or File) by executing a byos plan.
 *
 * @param {Blob} file the bytes to send
 * @param {object} plan a byos upload plan (UploadPlan.to_dict()) or single request (UploadRequest.to_dict())
 * @param {{onProgress?: Function, signal?: AbortSignal, concurrency?: number, retries?: number,
 *          retryDelayMs?: number, stallTimeoutMs?: number}} [options]
 * @returns {Promise<{key: string, etag: string|null, size: number}>}
 */
export async function upload(file, plan, options = {}) {
  const steps = normalisePlan(plan);
  const size = file.size;
  if (plan.size !== null && plan.size !== undefined && plan.size !== size) {
    throw new UploadError(
      `the file is ${size} bytes but the plan was made for ${plan.size} bytes; ask for a new plan with size=${size}`,
      { code: "size" },
    );
  }
  const last = steps.parts[steps.parts.length - 1];
  if (last.range && last.range[1] !== size) {
    throw new UploadError(`the plan's parts end at byte ${last.range[1]}, the file has ${size}`, { code: "size" });
  }
  const run = new Run(file, plan, steps, options);
  return run.execute();
}

function normalisePlan(plan) {
  if (plan === null || typeof plan !== "object") {
    throw new UploadError("plan: expected the JSON object byos returned", { code: "plan" });
  }
  if (Array.isArray(plan.parts)) {
    if (plan.parts.length === 0) throw new UploadError("plan.parts: empty", { code: "plan" });
    const parts = plan.parts.map((s, i) => checkStep(s, `parts[${i}]`));
    return {
      parts,
      complete: plan.complete ? checkStep(plan.complete, "complete") : null,
      abort: plan.abort ? checkStep(plan.abort, "abort") : null,
      parallel: plan.parallel === true,
    };
  }
  // A single request (UploadRequest.to_dict()): fields is an object, the body the whole file.
  const fields = plan.fields && Object.keys(plan.fields).length ? Object.entries(plan.fields) : null;
  const step = checkStep(
    { method: plan.method, url: plan.url, headers: plan.headers, fields, body: "file", expect: null },
    "plan",
  );
  return { parts: [step], complete: null, abort: null, parallel: false };
}

function checkStep(step, where) {
  if (step === null || typeof step !== "object") throw new UploadError(`${where}: not an object`, { code: "plan" });
  const body = step.body ?? "file";
  if (!BODIES.has(body)) throw new UploadError(`${where}.body: unknown ${JSON.stringify(body)}`, { code: "plan" });
  if (!step.url && step.url_from !== "session") {
    throw new UploadError(`${where}: no url (and url_from is not "session")`, { code: "plan" });
  }
  if (body === "range" && !(Array.isArray(step.range) && step.range.length === 2)) {
    throw new UploadError(`${where}.range: expected [start, end]`, { code: "plan" });
  }
  let fields = step.fields ?? null;
  if (fields && !Array.isArray(fields)) fields = Object.entries(fields);
  return {
    where,
    method: String(step.method || "PUT").toUpperCase(),
    url: step.url || null,
    urlFrom: step.url_from || null,
    headers: step.headers || {},
    fields,
    body,
    range: step.range || null,
    partNumber: step.part_number ?? null,
    blockId: step.block_id ?? null,
    expect: Array.isArray(step.expect) && step.expect.length ? step.expect : null,
    collect: step.collect || null,
  };
}

class Run {
  constructor(file, plan, steps, options) {
    this.file = file;
    this.plan = plan;
    this.steps = steps;
    this.onProgress = typeof options.onProgress === "function" ? options.onProgress : null;
    this.signal = options.signal || null;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
    this.retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES));
    this.retryDelayMs = Math.max(0, options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
    this.stallTimeoutMs = Math.max(0, options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS);
    this.session = null; // GCS resumable session URI
    this.etags = new Map(); // part index -> ETag as collected
    this.lastEtag = null;
    this.inFlight = new Set(); // XHRs to cancel
    this.loaded = new Map(); // part index -> bytes of it sent
    this.bytesSent = 0; // reported, never decreases
    this.partsDone = 0;
    this.failure = null; // the first fatal error
    this.size = file.size;
    this.dataParts = steps.parts.filter((s) => s.body === "file" || s.body === "range").length;
  }

  async execute() {
    if (this.signal && this.signal.aborted) throw this.aborted();
    const onAbort = () => this.fail(this.aborted());
    if (this.signal) this.signal.addEventListener("abort", onAbort, { once: true });
    try {
      this.report();
      await this.runParts();
      if (this.steps.complete) {
        const response = await this.sendWithRetries(this.steps.complete, -1);
        this.lastEtag = response.etag || parseXmlEtag(response.text) || this.lastEtag;
      }
      if (this.failure) throw this.failure;
      this.bytesSent = this.size;
      this.report();
      return { key: this.plan.key, etag: this.lastEtag, size: this.size };
    } catch (error) {
      const failure = this.failure || this.asUploadError(error);
      this.failure = failure;
      this.cancelInFlight();
      await this.sendAbort();
      throw failure;
    } finally {
      if (this.signal) this.signal.removeEventListener("abort", onAbort);
    }
  }

  aborted() {
    return new UploadError("upload aborted", { code: "aborted" });
  }

  asUploadError(error) {
    if (error instanceof UploadError) return error;
    return new UploadError(`upload failed: ${error && error.message ? error.message : error}`, {
      code: "network",
      cause: error,
    });
  }

  fail(error) {
    if (!this.failure) this.failure = error;
    this.cancelInFlight();
  }

  cancelInFlight() {
    for (const xhr of this.inFlight) xhr.abort();
    this.inFlight.clear();
  }

  async runParts() {
    const parts = this.steps.parts;
    const width = this.steps.parallel ? this.concurrency : 1;
    let next = 0;
    const worker = async () => {
      while (next < parts.length && !this.failure) {
        const index = next++;
        const response = await this.sendWithRetries(parts[index], index);
        if (this.failure) return;
        if (parts[index].collect === "etag") {
          if (!response.etag) {
            throw new UploadError(
              `${parts[index].where}: the ETag response header is not readable; the bucket's CORS rules ` +
                "must expose ETag (apply the CORS rules `byos policy` prints)",
              { code: "cors", status: response.status, step: parts[index].where },
            );
          }
          this.etags.set(index, response.etag);
        }
        if (parts[index].collect === "session") {
          if (!response.location) {
            throw new UploadError(
              `${parts[index].where}: the Location response header (the resumable session) is not ` +
                "readable; the bucket's CORS rules must expose Location (apply `byos policy`)",
              { code: "cors", status: response.status, step: parts[index].where },
            );
          }
          this.session = sessionUri(response.location, parts[index]);
        }
        if (response.etag) this.lastEtag = response.etag;
        if (isData(parts[index])) {
          this.partsDone += 1;
          this.loaded.set(index, partLength(parts[index], this.size));
          this.report();
        }
      }
    };
    const workers = [];
    for (let i = 0; i < Math.min(width, parts.length); i++) {
      workers.push(worker().catch((error) => this.fail(this.asUploadError(error))));
    }
    await Promise.all(workers);
    if (this.failure) throw this.failure;
  }

  // A retry resends the whole request. For a GCS chunk that means from the chunk's first byte, which suits a
  // chunk the server never received; asking the session how much it kept (Content-Range: bytes */total)
  // first is not done, as no local server answers that query as Cloud Storage does.
  async sendWithRetries(step, index) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send(step, index);
      } catch (error) {
        if (this.failure || !(error instanceof UploadError) || !error.retryable || attempt >= this.retries) {
          throw error;
        }
        this.loaded.set(index, 0);
        const delay = Math.min(MAX_RETRY_DELAY_MS, this.retryDelayMs * 2 ** attempt);
        await sleep(delay * (0.75 + Math.random() * 0.5), this.signal);
        if (this.failure) throw this.failure;
      }
    }
  }

  url(step) {
    if (step.urlFrom === "session") {
      if (!this.session) {
        throw new UploadError(`${step.where}: needs the resumable session, which no earlier step collected`, {
          code: "plan",
          step: step.where,
        });
      }
      return this.session;
    }
    return step.url;
  }

  body(step) {
    switch (step.body) {
      case "file":
        // A slice without a type, so the browser adds no Content-Type of its own.
        return this.file.slice(0, this.size);
      case "range":
        return this.file.slice(step.range[0], step.range[1]);
      case "empty":
        return null;
      case "s3-complete":
        return new Blob([s3CompleteBody(this.steps.parts, this.etags)]);
      case "azure-block-list":
        return new Blob([azureBlockList(this.steps.parts)]);
      default:
        throw new UploadError(`${step.where}.body: unknown`, { code: "plan" });
    }
  }

  send(step, index) {
    if (this.failure) return Promise.reject(this.failure);
    const url = this.url(step);
    let body = this.body(step);
    if (step.fields) {
      const form = new FormData();
      for (const [name, value] of step.fields) form.append(name, value);
      form.append("file", body, this.file.name || "upload");
      body = form;
    }
    const length = isData(step) ? partLength(step, this.size) : 0;
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      // No progress (sending or receiving) for stallTimeoutMs: give up on this try; it is retried.
      let stalled = false;
      let timer = null;
      const watch = () => {
        if (!this.stallTimeoutMs) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          stalled = true;
          xhr.abort();
        }, this.stallTimeoutMs);
      };
      const done = () => {
        clearTimeout(timer);
        this.inFlight.delete(xhr);
      };
      xhr.open(step.method, url, true);
      for (const [name, value] of Object.entries(step.headers)) {
        if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
      }
      if (xhr.upload) {
        xhr.upload.onprogress = (event) => {
          watch();
          if (!length || !event.lengthComputable || !event.total) return;
          this.loaded.set(index, Math.min(length, Math.floor((length * event.loaded) / event.total)));
          this.report();
        };
      }
      xhr.onprogress = watch;
      xhr.onload = () => {
        done();
        const status = xhr.status;
        const text = safeText(xhr);
        const expected = step.expect ? step.expect.includes(status) : status >= 200 && status < 300;
        if (expected && !(step.body === "s3-complete" && /<Error>/.test(text))) {
          resolve({
            status,
            text,
            etag: xhr.getResponseHeader("ETag"),
            location: xhr.getResponseHeader("Location"),
          });
          return;
        }
        reject(this.httpError(step, status, text));
      };
      xhr.onerror = () => {
        done();
        const error = new UploadError(
          `${step.method} ${step.where}: the request did not complete: the storage could not be reached, or ` +
            "the browser blocked it by CORS (the bucket's CORS rules must allow this page's origin, the " +
            "method and every header in the plan: apply the rules `byos policy` prints)",
          { code: "network", step: step.where },
        );
        error.retryable = true;
        reject(error);
      };
      xhr.onabort = () => {
        done();
        if (stalled && !this.failure) {
          const error = new UploadError(
            `${step.method} ${step.where}: no progress for ${this.stallTimeoutMs / 1000} s; gave up on this try`,
            { code: "network", step: step.where },
          );
          error.retryable = true;
          reject(error);
          return;
        }
        reject(this.failure || this.aborted());
      };
      this.inFlight.add(xhr);
      watch();
      xhr.send(body);
    });
  }

  httpError(step, status, text) {
    const code = xmlValue(text, "Code");
    const detail = code ? ` (${code})` : "";
    const what = `${step.method} ${step.where}: HTTP ${status}${detail}`;
    // Azure: a create-only SAS (sp=c, what byos signs for write-once) answers an existing blob with 403
    // AuthorizationPermissionMismatch, before If-None-Match could answer 409.
    const createOnly = code === "AuthorizationPermissionMismatch" && /[?&]sp=c(&|$)/.test(this.url(step));
    if (status === 412 || status === 409 || code === "BlobAlreadyExists" || code === "PreconditionFailed" || createOnly) {
      return new UploadError(
        `${what}: the object ${this.plan.key} already exists, and byos uploads never overwrite; ` +
          "ask the import service for a new plan",
        { code: "exists", status, step: step.where },
      );
    }
    if (status === 403 || status === 401) {
      return new UploadError(`${what}: refused. ${forbiddenCauses(this.plan, code, text)}`, {
        code: "forbidden",
        status,
        step: step.where,
      });
    }
    const error = new UploadError(`${what}`, { code: "http", status, step: step.where });
    error.retryable = status >= 500 || status === 408 || status === 429 || (status >= 200 && status < 300);
    return error;
  }

  async sendAbort() {
    const step = this.steps.abort;
    if (!step || (step.urlFrom === "session" && !this.session)) return;
    try {
      const url = this.url(step);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), ABORT_TIMEOUT_MS);
      try {
        await fetch(url, {
          method: step.method,
          headers: Object.fromEntries(
            Object.entries(step.headers).filter(([n]) => !FORBIDDEN_HEADERS.has(n.toLowerCase())),
          ),
          signal: controller.signal,
          credentials: "omit",
        });
      } finally {
        clearTimeout(timer);
      }
    } catch {
      // Best effort: uncommitted parts expire on their own (S3 lifecycle rule, GCS session after a week).
    }
  }

  report() {
    let sum = 0;
    for (const value of this.loaded.values()) sum += value;
    this.bytesSent = Math.max(this.bytesSent, Math.min(sum, this.size));
    if (this.onProgress) {
      try {
        this.onProgress({
          bytesSent: this.bytesSent,
          size: this.size,
          partsDone: this.partsDone,
          partsTotal: this.dataParts,
        });
      } catch {
        // A failing progress callback never breaks the upload.
      }
    }
  }
}

// A resumable session must be on the start request's own origin and name its upload: a server that answers
// another host's Location would otherwise receive every chunk (and the abort).
function sessionUri(location, step) {
  let uri;
  try {
    uri = new URL(location, step.url);
  } catch {
    uri = null;
  }
  const start = new URL(step.url);
  if (!uri || uri.origin !== start.origin || !uri.searchParams.get("upload_id")) {
    throw new UploadError(
      `${step.where}: the resumable session is not on the start URL's host or names no upload_id; ` +
        "nothing more is sent",
      { code: "plan", step: step.where },
    );
  }
  return uri.href;
}

function isData(step) {
  return step.body === "file" || step.body === "range";
}

function partLength(step, size) {
  return step.body === "range" ? step.range[1] - step.range[0] : size;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    if (signal) signal.addEventListener("abort", wake, { once: true });
  });
}

function safeText(xhr) {
  try {
    return typeof xhr.responseText === "string" ? xhr.responseText.slice(0, 4096) : "";
  } catch {
    return "";
  }
}

function escapeXml(text) {
  return String(text).replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]);
}

function s3CompleteBody(parts, etags) {
  const rows = [];
  parts.forEach((part, index) => {
    if (part.partNumber === null) return;
    if (!etags.has(index)) throw new UploadError(`${part.where}: no ETag collected`, { code: "plan" });
    rows.push({ n: part.partNumber, etag: etags.get(index) });
  });
  rows.sort((a, b) => a.n - b.n);
  const inner = rows.map((r) => `<Part><PartNumber>${r.n}</PartNumber><ETag>${escapeXml(r.etag)}</ETag></Part>`);
  return `<CompleteMultipartUpload>${inner.join("")}</CompleteMultipartUpload>`;
}

function azureBlockList(parts) {
  const ids = parts.filter((p) => p.blockId !== null).map((p) => `<Latest>${escapeXml(p.blockId)}</Latest>`);
  return `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.join("")}</BlockList>`;
}

function xmlValue(text, name) {
  const match = new RegExp(`<${name}>([^<]{1,200})</${name}>`).exec(text || "");
  return match ? match[1].replace(/[^\x20-\x7e]/g, "") : null;
}

function parseXmlEtag(text) {
  const value = xmlValue(text, "ETag");
  return value ? value.replace(/&quot;/g, '"') : null;
}

function forbiddenCauses(plan, code, text) {
  const causes = [];
  const expires = Date.parse(plan.expires_at || "");
  const said = `${code || ""} ${text || ""}`.toLowerCase();
  const expired = said.includes("expired") || (!Number.isNaN(expires) && Date.now() >= expires);
  const expiry = `the URL expired (expires_at ${plan.expires_at}; ask the import service for a new plan)`;
  if (expired) causes.push(expiry);
  causes.push("a signed header was changed, added or left out (send the plan's headers exactly as given)");
  causes.push("this computer's or the import service's clock is off (signatures carry the signing time)");
  if (!expired) causes.push(expiry);
  causes.push("the bucket's CORS rules or permissions do not allow this upload (apply `byos policy`)");
  return `Likely causes: ${causes.join("; ")}.`;
}
