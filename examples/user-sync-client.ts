// A tiny client of the kind people test against the mock: send users in bulk,
// then poll the background job until it ends.

export interface SyncResult {
  jobId: string
  status: string
  completedRows: number
}

export interface SyncOptions {
  baseUrl: string
  apiKey: string
  /** Waits between two status polls: an app sleeps; a test drives the mock's clock instead. */
  wait: () => Promise<void>
  /** Polls before giving up. */
  maxPolls: number
}

/** Identifies `users` in one bulk request and waits for its job to complete or fail. */
export async function syncUsers (users: Array<{ user_id: string, company_id?: string, metadata?: Record<string, string | number | boolean | null> }>, options: SyncOptions): Promise<SyncResult> {
  const headers = { authorization: `Token ${options.apiKey}`, 'content-type': 'application/json' }
  const accepted = await fetch(`${options.baseUrl}/v1/users/bulk_identify`, { method: 'POST', headers, body: JSON.stringify({ users }) })
  if (accepted.status !== 202) throw new Error(`bulk identify answered ${accepted.status}: ${await accepted.text()}`)
  const job = await accepted.json() as { job_id: string, links: string }
  for (let poll = 0; poll < options.maxPolls; poll++) {
    const status = await (await fetch(job.links, { headers })).json() as { status: string, completed_rows: number }
    if (status.status === 'completed' || status.status === 'failed') {
      return { jobId: job.job_id, status: status.status, completedRows: status.completed_rows }
    }
    await options.wait()
  }
  throw new Error(`job ${job.job_id} did not end`)
}
