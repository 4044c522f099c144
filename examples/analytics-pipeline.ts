// A small analytics pipeline on Userpilot's bulk APIs, of the kind the mock lets you test
// offline: bring history in with the Import API, send live events, then take everything
// back out with the Export API as files.

export interface PipelineOptions {
  baseUrl: string
  apiKey: string
  /** Called between two polls of a job: e.g. `() => new Promise((resolve) => setTimeout(resolve, 500))`; a test passes the mock's flush instead. */
  wait: () => Promise<unknown>
}

interface ExportStatus { status: string, presigned_urls: Array<{ filename: string, url: string }> }

function auth (apiKey: string): Record<string, string> {
  return { authorization: `Token ${apiKey}` }
}

async function expect (res: Response, status: number, what: string): Promise<unknown> {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${await res.text()}`)
  return await res.json()
}

/** Polls `read` until it says the job is done; fails on a failed job. */
async function until<T extends { status: string }> (read: () => Promise<T>, done: string, options: PipelineOptions): Promise<T> {
  for (;;) {
    const job = await read()
    if (job.status === done) return job
    if (job.status === 'failed') throw new Error('the job failed')
    await options.wait()
  }
}

/** Uploads a CSV of historical rows (POST /v1/imports) and waits until the import job completed. */
export async function importHistory (csv: string, options: PipelineOptions): Promise<void> {
  const form = new FormData()
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'history.csv')
  const accepted = await expect(await fetch(`${options.baseUrl}/v1/imports`, { method: 'POST', headers: auth(options.apiKey), body: form }), 200, 'POST /v1/imports') as { job_id: string }
  await until(async () => await expect(await fetch(`${options.baseUrl}/v1/background_jobs/${accepted.job_id}`, { headers: auth(options.apiKey) }), 200, 'GET the import job') as { status: string }, 'completed', options)
}

/** Tracks one live event (POST /v1/track). */
export async function trackLive (userId: string, eventName: string, options: PipelineOptions): Promise<void> {
  const res = await fetch(`${options.baseUrl}/v1/track`, {
    method: 'POST',
    headers: { ...auth(options.apiKey), 'content-type': 'application/json', 'x-api-version': '2020-09-22' },
    body: JSON.stringify({ user_id: userId, event_name: eventName })
  })
  if (res.status !== 202) throw new Error(`POST /v1/track answered ${res.status}: ${await res.text()}`)
}

/** Exports every event as NDJSON (POST /api/v1/analytics/exports), waits for the job, downloads its files and parses them. */
export async function exportEvents (options: PipelineOptions): Promise<Array<Record<string, unknown>>> {
  const created = await expect(await fetch(`${options.baseUrl}/api/v1/analytics/exports`, {
    method: 'POST',
    headers: { ...auth(options.apiKey), 'content-type': 'application/json' },
    body: JSON.stringify({ format: 'ndjson' })
  }), 201, 'POST /api/v1/analytics/exports') as { job_id: string }
  const job = await until(async () => await expect(await fetch(`${options.baseUrl}/api/v1/analytics/exports/jobs/${created.job_id}`, { headers: auth(options.apiKey) }), 200, 'GET the export job') as ExportStatus, 'completed', options)
  const events: Array<Record<string, unknown>> = []
  for (const file of job.presigned_urls) {
    // A presigned link needs no key: it carries its own signature.
    const text = await (await fetch(file.url)).text()
    for (const line of text.split('\n')) if (line !== '') events.push(JSON.parse(line) as Record<string, unknown>)
  }
  return events
}
