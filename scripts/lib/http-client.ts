import { Agent, request, type IncomingHttpHeaders } from 'node:http'

/** A complete HTTP answer. */
export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** One request to send. */
export interface Call {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  /** Client-side limit; past it the request is destroyed and counted as `ETIMEDOUT`. */
  timeoutMs?: number
}

/** A keep-alive connection pool of `sockets` connections for one client. */
export function keepAliveAgent (sockets = 1): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets })
}

/**
 * Sends one request and reads the whole answer. Rejects only when no complete
 * answer arrives (reset, refused, hang up, timeout), with the error's `code`.
 */
export async function send (base: string, agent: Agent | false, call: Call): Promise<Answer> {
  return await new Promise<Answer>((resolve, reject) => {
    const headers: Record<string, string> = { ...call.headers }
    if (call.body !== undefined) headers['content-length'] = String(Buffer.byteLength(call.body))
    const req = request(`${base}${call.path}`, { method: call.method, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('aborted', () => reject(Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' })))
      res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.setTimeout(call.timeoutMs ?? 30_000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'ETIMEDOUT' })))
    req.end(call.body)
  })
}
