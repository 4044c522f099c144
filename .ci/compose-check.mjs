// Checks the compose files as far as a machine without a Docker engine or a registry can:
//
//   - each file parses as YAML (as strictly as Compose: duplicate keys are errors) and
//     validates against the Compose specification's JSON schema, with Ajv. The schema is
//     the copy the dclint package ships (in dclint 3.1.0: compose-spec's
//     schema/compose-spec.json of 2025-07-20, byte for byte);
//   - what the schema cannot see: every `build:` context and Dockerfile exists and is the
//     repo's Dockerfile (the one CI builds), every `image:` of a service that is not built
//     is the stand-in base (`node:<major>-slim`, the Dockerfile's FROM) or one of the
//     registry images named below, bind-mount sources exist, named volumes are declared,
//     `depends_on` names services of the file and `service_healthy` ones have a health check;
//   - no `$` that Compose would interpolate (this check does not reproduce interpolation).
//
// Running the stacks is .ci/docker-image.sh's part (with the built image).
//
//   node .ci/compose-check.mjs [file ...]   (default: both compose files of the repo)
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Ajv } from 'ajv'
import { parseDocument } from 'yaml'

const repo = path.resolve(import.meta.dirname, '..')
const files = process.argv.length > 2 ? process.argv.slice(2) : ['docker-compose.yml', 'examples/replicas/docker-compose.yml']

// Images that only a registry has: nothing here can pull or run them, so they are
// named, not checked. A new one must be added here on purpose.
const REGISTRY_ONLY = new Map([
  ['redis:7-alpine', 'Redis 7 from Docker Hub'],
  ['nginx:1.27-alpine', 'nginx 1.27 from Docker Hub']
])

class CheckError extends Error {}
const fail = (message) => { throw new CheckError(message) }

/** The Node.js major of the image: the Dockerfile's first `FROM node:<major>-slim`. */
function baseImage () {
  const match = /^FROM\s+(?:--\S+\s+)*node:(\d+)-slim\b/im.exec(readFileSync(path.join(repo, 'Dockerfile'), 'utf8'))
  if (match === null) fail('Dockerfile: no `FROM node:<major>-slim` line')
  return `node:${match[1]}-slim`
}

function loadSchema () {
  const require = createRequire(import.meta.url)
  const dclint = path.dirname(require.resolve('dclint/package.json'))
  const { version } = JSON.parse(readFileSync(path.join(dclint, 'package.json'), 'utf8'))
  const schema = JSON.parse(readFileSync(path.join(dclint, 'schemas', 'compose.schema.json'), 'utf8'))
  // The schema names draft-07 by its https address, which Ajv knows under the http one.
  if (schema.$schema === 'https://json-schema.org/draft-07/schema') schema.$schema = 'http://json-schema.org/draft-07/schema#'
  // Union types ("string or number") are the spec's own idiom, not mistakes.
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false })
  return { validate: ajv.compile(schema), source: `the compose-spec schema shipped with dclint ${version}` }
}

/** Ajv's errors, one short line each; `oneOf` alternatives that failed are summed up once. */
function schemaErrors (errors) {
  const lines = errors.map((error) => `${error.instancePath || '/'}: ${error.message}${error.params?.additionalProperty === undefined ? '' : ` (${error.params.additionalProperty})`}`)
  return [...new Set(lines)].slice(0, 12)
}

/** Every string in a parsed file, with where it is. */
function * strings (value, at = '') {
  if (typeof value === 'string') yield [at, value]
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield * strings(item, `${at}/${i}`)
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) yield * strings(item, `${at}/${key}`)
}

/** `SOURCE:TARGET[:MODE]` as Compose reads it: a path (./, /, ~) is a bind mount, a name a named volume. */
function shortVolume (text) {
  const [source, target] = text.split(':')
  if (target === undefined) return { type: 'volume' } // anonymous: nothing to resolve
  return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source }
}

const isDir = (p) => existsSync(p) && statSync(p).isDirectory()

function checkFile (file, { validate, base }) {
  const full = path.resolve(repo, file)
  if (!existsSync(full)) fail(`${file}: no such file`)
  const dir = path.dirname(full)
  const doc = parseDocument(readFileSync(full, 'utf8'), { uniqueKeys: true, merge: true, prettyErrors: true })
  if (doc.errors.length > 0) fail(`${file}: not valid YAML: ${doc.errors[0].message.split('\n')[0].replace(/:$/, '')}`)
  const data = doc.toJS({ maxAliasCount: 100 })

  for (const [at, text] of strings(data)) {
    if (/\$(?!\$)/.test(text.replace(/\$\$/g, ''))) fail(`${file}: ${at}: Compose would interpolate the \`$\` in ${JSON.stringify(text)} (write $$ for a literal one); this check does not reproduce that`)
  }

  if (!validate(data)) fail(`${file}: does not match the Compose specification's schema:\n${schemaErrors(validate.errors).map((line) => `    ${line}`).join('\n')}`)

  const services = data.services ?? {}
  const volumes = data.volumes ?? {}
  const repoDockerfile = path.join(repo, 'Dockerfile')
  const notes = { built: [], stand_in: [], registry: [] }
  for (const [name, service] of Object.entries(services)) {
    const where = `${file}: service ${name}`
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build
      if (build.dockerfile_inline !== undefined) fail(`${where}: dockerfile_inline is not built by CI`)
      if (/^[a-z]+:\/\/|^git@/.test(build.context ?? '.')) fail(`${where}: build context ${build.context} is a URL, not built by CI`)
      const context = path.resolve(dir, build.context ?? '.')
      if (!isDir(context)) fail(`${where}: build context ${build.context} does not exist (${path.relative(repo, context) || '.'})`)
      const dockerfile = path.resolve(context, build.dockerfile ?? 'Dockerfile')
      if (!existsSync(dockerfile)) fail(`${where}: no Dockerfile at ${path.relative(repo, dockerfile)}`)
      if (dockerfile !== repoDockerfile || context !== repo) fail(`${where}: builds ${path.relative(repo, dockerfile)} in ${path.relative(repo, context) || '.'}; CI builds and runs only the repo's Dockerfile with the repo as context`)
      notes.built.push(`${name} (${service.image ?? 'untagged'})`)
    } else if (service.image === base) {
      notes.stand_in.push(name)
    } else if (REGISTRY_ONLY.has(service.image)) {
      notes.registry.push(`${name}: ${service.image}`)
    } else {
      fail(`${where}: image ${service.image} is neither built here nor ${base} (the Dockerfile's base); if it comes from a registry, add it to REGISTRY_ONLY in .ci/compose-check.mjs`)
    }

    for (const volume of service.volumes ?? []) {
      const { type, source } = typeof volume === 'string' ? shortVolume(volume) : volume
      if (type === 'bind' && !existsSync(path.resolve(dir, source))) fail(`${where}: bind-mount source ${source} does not exist (${path.relative(repo, path.resolve(dir, source))})`)
      if (type === 'volume' && source !== undefined && !(source in volumes)) fail(`${where}: volume ${source} is not declared under the top-level volumes`)
    }

    for (const envFile of [service.env_file ?? []].flat()) {
      const envPath = typeof envFile === 'string' ? envFile : envFile.path
      if ((typeof envFile === 'string' || envFile.required !== false) && !existsSync(path.resolve(dir, envPath))) fail(`${where}: env_file ${envPath} does not exist`)
    }

    const dependsOn = Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((target) => [target, { condition: 'service_started' }])) : service.depends_on ?? {}
    for (const [target, { condition }] of Object.entries(dependsOn)) {
      if (!(target in services)) fail(`${where}: depends_on ${target}, which is not a service of ${file}`)
      if (condition === 'service_healthy') {
        const other = services[target]
        const ownCheck = other.healthcheck !== undefined && other.healthcheck.disable !== true
        const imageCheck = other.build !== undefined && /^HEALTHCHECK\s+(?!NONE)/im.test(readFileSync(repoDockerfile, 'utf8'))
        if (!ownCheck && !imageCheck) fail(`${where}: waits for ${target} to be healthy, but ${target} has no health check`)
      }
    }
  }
  const parts = [`${Object.keys(services).length} services valid`]
  if (notes.built.length > 0) parts.push(`built from the repo's Dockerfile: ${notes.built.join(', ')}`)
  if (notes.stand_in.length > 0) parts.push(`on ${base} (the Dockerfile's base): ${notes.stand_in.join(', ')}`)
  if (notes.registry.length > 0) parts.push(`registry images not checked here: ${notes.registry.join(', ')}`)
  console.log(`compose-check: ${file}: ${parts.join('; ')}`)
}

try {
  const { validate, source } = loadSchema()
  const base = baseImage()
  for (const file of files) checkFile(file, { validate, base })
  console.log(`compose-check: ok (${files.length} file${files.length === 1 ? '' : 's'}; ${source}, validated with Ajv)`)
} catch (error) {
  console.error(`compose-check: FAILED: ${error instanceof CheckError ? error.message : error.message ?? error}`)
  process.exitCode = 1
}
