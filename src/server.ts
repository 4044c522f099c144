#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp, REDACTED_PATHS } from './app.js'
import { bufferedStdout } from './log-output.js'
import { linkToParent } from './parent-link.js'
import { ConfigError, configFromSources, describeSettings, type Config } from './config.js'
import { VERSION } from './version.js'

/** Where the command writes (the process, or a test's capture). */
export interface Output {
  stdout: { write(text: string): unknown, isTTY?: boolean }
  stderr: { write(text: string): unknown }
}

/** What the command line asked for. */
export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'serve', config: Config }

/** Reads flags and environment; flags win. Throws a one-line error for anything it cannot use. */
export function readCommand (argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  const settings = describeSettings()
  const options: Record<string, { type: 'string' | 'boolean', short?: string }> = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } }
  for (const setting of settings) options[setting.flag.slice(2)] = { type: 'string' }
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new ConfigError(`${(error as Error).message.split('\n')[0] as string} (see --help)`)
  }
  if (values.help === true) return { kind: 'help' }
  if (values.version === true) return { kind: 'version' }
  const flags: Record<string, string | undefined> = {}
  for (const setting of settings) flags[setting.name] = values[setting.flag.slice(2)] as string | undefined
  return { kind: 'serve', config: configFromSources(env, flags) }
}

/** The --help text: every option with its environment variable and default. */
export function helpText (): string {
  const rows = describeSettings().map((s) => `  ${`${s.flag} <value>`.padEnd(32)}${s.name.padEnd(26)}default: ${s.default}\n${' '.repeat(34)}${s.description}`)
  return [
    `userpilot-mock ${VERSION}: a local, stateful mock of Userpilot's server API (identify, track, deletes, bulk identify and its jobs)`,
    '',
    'Usage: userpilot-mock [options]',
    '',
    'Each option can also be set by its environment variable; a flag wins.',
    '',
    `  ${'option'.padEnd(32)}${'environment'.padEnd(26)}`,
    ...rows,
    `  ${'-h, --help'.padEnd(32)}show this help`,
    `  ${'-v, --version'.padEnd(32)}print the version`,
    ''
  ].join('\n')
}

/** pino settings for a process: JSON lines, pretty only when a person watches a terminal. */
export function loggerOptions (config: Config, isTTY: boolean): FastifyServerOptions['logger'] {
  return {
    level: config.LOG_LEVEL,
    redact: REDACTED_PATHS,
    // Off a TTY, lines are buffered and written a few KB at a time (log-output.ts).
    ...(isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : { stream: bufferedStdout() })
  }
}

/** Builds the app and listens; the caller owns shutdown. */
export async function startServer (config: Config, isTTY = false): Promise<FastifyInstance> {
  const app = await buildApp({ config, logger: loggerOptions(config, isTTY) })
  await app.listen({ port: config.PORT, host: config.HOST })
  return app
}

/**
 * The process entry: parse, start, and on SIGTERM/SIGINT stop accepting,
 * answer the requests in flight and exit 0 (close-with-grace; a second
 * signal or 10 s exits 1).
 */
export async function main (argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Output = process): Promise<number> {
  let command: Command
  try {
    command = readCommand(argv, env)
  } catch (error) {
    io.stderr.write(`userpilot-mock: ${(error as Error).message}\n`)
    return 2
  }
  if (command.kind === 'help') {
    io.stdout.write(helpText())
    return 0
  }
  if (command.kind === 'version') {
    io.stdout.write(`${VERSION}\n`)
    return 0
  }
  let app: FastifyInstance
  try {
    app = await startServer(command.config, io.stdout.isTTY === true)
  } catch (error) {
    io.stderr.write(`userpilot-mock: ${(error as Error).message}\n`)
    return 1
  }
  closeWithGrace({ delay: 10_000, logger: app.log }, async (event) => {
    app.log.warn(event, 'shutting down: finishing requests in flight')
    await app.close()
  })
  linkToParent(app, env)
  return 0
}

/** True when this file is the process entry (also through npm's bin symlink). */
function isEntry (): boolean {
  const here = realpathSync(fileURLToPath(import.meta.url))
  // argv[1] is absent in a REPL or under `node -e`: then this module is not the entry.
  return process.argv.slice(1, 2).some((entry) => realpathSync(entry) === here)
}

if (isEntry()) {
  const code = await main(process.argv.slice(2), process.env)
  if (code !== 0) process.exit(code)
}
