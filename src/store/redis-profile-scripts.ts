// The Lua scripts that write profiles outside a bulk job: real-time identify
// and deletions. Key layout and record format: redis-scripts.ts.

import type { LuaScript } from './redis-context.js'
import { HELPERS } from './redis-scripts.js'

/**
 * ARGV: P, tenant, touch, at, company row or empty, user row or empty → the
 * user's company field afterwards (empty for none); without a user, the
 * company's. The company first, then the user (whose row names it), in one step.
 */
export const IDENTIFY: LuaScript = {
  name: 'upIdentify',
  lua: `${HELPERS}
local P, tenant, touch, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local T = P .. 't:' .. tenant .. ':'
redis.call('ZADD', P .. 'tenants', 'NX', redis.call('INCR', P .. 'tseq'), tenant)
local company = ''
if ARGV[5] ~= '' then
  local row = split(ARGV[5])
  applyCompany(T, row, touch, at)
  company = row[1]
end
if ARGV[6] == '' then return company end
local row = split(ARGV[6])
applyUser(T, row, touch, at)
return split(redis.call('HGET', T .. 'users', row[1]))[1]
`
}

/**
 * ARGV: P, tenant, kind ('users' or 'companies'), due time, encoded ids… →
 * how many of the ids exist (each is marked; an existing mark keeps the sooner time).
 */
export const SCHEDULE_DELETIONS: LuaScript = {
  name: 'upScheduleDeletions',
  lua: `
local P, tenant, kind, due = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local T = P .. 't:' .. tenant .. ':'
local marks = T .. 'udel'
if kind == 'companies' then marks = T .. 'cdel' end
local marked = 0
for i = 5, #ARGV do
  if redis.call('HEXISTS', T .. kind, ARGV[i]) == 1 then
    redis.call('ZADD', marks, 'LT', due, ARGV[i])
    marked = marked + 1
  end
end
if marked > 0 then redis.call('SADD', P .. 'deltenants', tenant) end
return marked
`
}

/**
 * ARGV: P, tenant, due by → { users deleted, companies deleted }. A deleted
 * company's users are left without a company.
 */
export const RUN_DELETIONS: LuaScript = {
  name: 'upRunDeletions',
  lua: `${HELPERS}
local P, tenant, dueBy = ARGV[1], ARGV[2], ARGV[3]
local T = P .. 't:' .. tenant .. ':'
local users, companies = 0, 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', T .. 'udel', '-inf', dueBy)) do
  local record = redis.call('HGET', T .. 'users', id)
  if record then
    local company = split(record)[1]
    if company ~= '' then redis.call('ZREM', T .. 'cu:' .. company, id) end
    redis.call('HDEL', T .. 'users', id)
    redis.call('ZREM', T .. 'uorder', id)
    users = users + 1
  end
  redis.call('ZREM', T .. 'udel', id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', T .. 'cdel', '-inf', dueBy)) do
  if redis.call('HDEL', T .. 'companies', id) == 1 then
    redis.call('ZREM', T .. 'corder', id)
    for _, member in ipairs(redis.call('ZRANGE', T .. 'cu:' .. id, 0, -1)) do
      local fields = split(redis.call('HGET', T .. 'users', member))
      fields[1] = ''
      redis.call('HSET', T .. 'users', member, table.concat(fields, '\\n'))
    end
    redis.call('DEL', T .. 'cu:' .. id)
    companies = companies + 1
  end
  redis.call('ZREM', T .. 'cdel', id)
end
if redis.call('ZCARD', T .. 'udel') + redis.call('ZCARD', T .. 'cdel') == 0 then
  redis.call('SREM', P .. 'deltenants', tenant)
end
return { users, companies }
`
}
