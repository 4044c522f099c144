import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

/**
 * Polls one URL over one keep-alive connection, one request at a time with
 * `gapMs` between them, until stopped; records each latency in ms.
 */
export class Poller {
  readonly latencies: number[] = []
  statuses = new Map<number, number>()
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 })
  #stopped = false
  readonly #done: Promise<void>

  constructor (url: string, headers: Record<string, string>, gapMs: number) {
    this.#done = this.#run(url, headers, gapMs)
  }

  async #run (url: string, headers: Record<string, string>, gapMs: number): Promise<void> {
    while (!this.#stopped) {
      const started = performance.now()
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(url, { agent: this.#agent, headers }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.on('error', reject)
        req.end()
      })
      this.latencies.push(performance.now() - started)
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
  }

  /** Stops after the request in flight; returns the latencies, sorted. */
  async stop (): Promise<number[]> {
    this.#stopped = true
    await this.#done
    this.#agent.destroy()
    return [...this.latencies].sort((a, b) => a - b)
  }

  /** Answers that were not 200. */
  get failures (): number {
    let count = 0
    for (const [status, times] of this.statuses) if (status !== 200) count += times
    return count
  }
}
