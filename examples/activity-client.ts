// A tiny real-time client of the kind apps put beside their sign-up and billing
// code: identify a user (with the company it belongs to), track what it did,
// and honour a deletion request.

export interface ActivityOptions {
  baseUrl: string
  apiKey: string
}

function headers (apiKey: string): Record<string, string> {
  // The three headers Userpilot's docs ask for (the mock warns when X-API-Version is missing).
  return { authorization: `Token ${apiKey}`, 'content-type': 'application/json', 'x-api-version': '2020-09-22' }
}

async function send (options: ActivityOptions, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${options.baseUrl}${path}`, { method, headers: headers(options.apiKey), body: JSON.stringify(body) })
  if (res.status !== 202) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
}

/** A user signed up: identify them, in their company, and track the sign-up. */
export async function signedUp (user: { id: string, email: string, plan: string, company: { id: string, name: string } }, options: ActivityOptions): Promise<void> {
  await send(options, 'POST', '/v1/identify', { user_id: user.id, metadata: { email: user.email, plan: user.plan }, company: { id: user.company.id, name: user.company.name } })
  await send(options, 'POST', '/v1/track', { user_id: user.id, event_name: 'Signed Up', metadata: { plan: user.plan } })
}

/** A user closed their account: ask Userpilot to forget them. */
export async function accountClosed (userId: string, options: ActivityOptions): Promise<void> {
  await send(options, 'DELETE', '/v1/users', { users: [userId] })
}
