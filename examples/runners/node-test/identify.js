// The code under test: sends users to Userpilot's bulk identify API, and reads a job's status.
async function identifyUsers (users, { baseUrl, apiKey }) {
  const res = await fetch(`${baseUrl}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ users })
  })
  if (res.status !== 202) throw new Error(`bulk identify answered ${res.status}`)
  return (await res.json()).job_id
}

async function jobStatus (jobId, { baseUrl, apiKey }) {
  const res = await fetch(`${baseUrl}/v1/background_jobs/${encodeURIComponent(jobId)}`, { headers: { authorization: `Token ${apiKey}` } })
  return (await res.json()).status
}

module.exports = { identifyUsers, jobStatus }
