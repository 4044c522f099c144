import { readFileSync } from 'node:fs'
import { gcTotals, type GcTotals } from './gc-trace.js'
import { runLoad, type LoadResult } from './load.js'
import { cpuTimesOf, RssSampler } from './proc.js'
import { startServer, type ServerSpec } from './server.js'
import { drainJobs, keysFor, type Workload } from './workloads.js'

/** One target under one workload: the load's figures, its peak memory and CPU share, the drain of its jobs. */
export interface Measured extends LoadResult {
  server: string
  peakRss: number
  /** Share of its core the server used during the measured load (1 = saturated). */
  cpu: number
  /** CPU microseconds per answer in user space (the server's own code, V8 and Node.js) and in the kernel (sockets, wake-ups). */
  userUsPerAnswer: number
  systemUsPerAnswer: number
  /** Milliseconds after the load stopped until every accepted job had ended (when `drains`). */
  drainMs: number | undefined
  /** What the workload's check found wrong after the load (see Workload.verify; when `verify`). */
  problems: string[]
  /** The collections during the measured load (when `gcTrace`), and the answers they are shared by. */
  gc: (GcTotals & { answers: number }) | undefined
}

export interface MeasureOptions {
  keys: number
  connections: number
  warmupS: number
  durationS: number
  /** Wait for the jobs of the warm-up before measuring, and for the measured ones after (a mock whose jobs run). */
  drains: boolean
  /** Run the workload's check after the load. */
  verify: boolean
  /** The file the server's stdout goes to, with its `--trace-gc-nvp` lines: read for the measured load's collections. */
  gcTrace?: string | undefined
}

/** Starts one server, warms it, measures one workload against it, stops it. */
export async function measureWorkload (spec: ServerSpec, workload: Workload, options: MeasureOptions): Promise<Measured> {
  const server = await startServer(spec)
  let measured: Omit<Measured, 'gc'> & { window: [number, number], answers: number }
  try {
    const keys = keysFor(workload.id, options.keys)
    const requests = await workload.requests(server.url, keys)
    if (options.warmupS > 0) {
      await runLoad(server.url, requests, { connections: options.connections, durationS: options.warmupS })
      // Jobs of the warm-up must not run during the measured window.
      if (options.drains) await drainJobs(server.url, keys)
    }
    const sampler = new RssSampler(server.pid)
    const cpuStart = cpuTimesOf(server.pid)
    // On the server's clock, which starts a few ms after the spawn: a collection at an edge may be counted in the wrong window.
    const window: [number, number] = [performance.now() - server.spawnedAt, 0]
    const result = await runLoad(server.url, requests, { connections: options.connections, durationS: options.durationS })
    window[1] = performance.now() - server.spawnedAt
    const cpuEnd = cpuTimesOf(server.pid)
    const cpu = (cpuEnd.user + cpuEnd.system - cpuStart.user - cpuStart.system) / result.durationS
    const answers = Math.max(1, result.ok + result.non2xx)
    const userUsPerAnswer = (cpuEnd.user - cpuStart.user) * 1e6 / answers
    const systemUsPerAnswer = (cpuEnd.system - cpuStart.system) * 1e6 / answers
    const drainMs = options.drains ? await drainJobs(server.url, keys) : undefined
    // Peak RSS covers the load and the drain that finishes its jobs.
    const { peak } = sampler.stop()
    const problems = options.verify && workload.verify !== undefined ? await workload.verify(server.url, keys) : []
    measured = { ...result, server: spec.name, peakRss: peak, cpu, userUsPerAnswer, systemUsPerAnswer, drainMs, problems, window, answers }
  } finally {
    await server.stop()
  }
  // Read once the server has exited: V8 prints through a buffer that its exit flushes.
  const { window, answers, ...rest } = measured
  const gc = options.gcTrace === undefined ? undefined : { ...gcTotals(readFileSync(options.gcTrace, 'utf8'), ...window), answers }
  return { ...rest, gc }
}
