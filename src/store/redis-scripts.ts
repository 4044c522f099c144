// The Lua scripts of the Redis backend: each multi-key step that must be
// atomic across replicas runs as one script. Every script takes the store's
// key prefix and a tenant's encoded id (see redis-codec.ts) as arguments and
// builds its key names from them, so that one layout lives in one place:
//
//   P..'tenants'             zset   encoded tenant ids, scored by first appearance
//   P..'active'              set    'tenant\njob' of every job that has not ended (the lease sweep reads it)
//   P..'jseq', P..'journal'  the journal's numbering and its ring buffer (newest first)
//   T = P..'t:'..tenant..':'
//   T..'seq'                 counter ordering the tenant's jobs, users and companies
//   T..'jobs', T..'active'   zsets of job ids by submission (active: the bulk lane's jobs that
//                            have not ended; T..'active:import' the import lane's); T..'ended' list in end order
//   T..'job:'..id            hash (status, completed, end, failAt, history, type, doc)
//   T..'rows:'..id           list of the rows not applied yet
//   T..'eseq', T..'events'   the events' numbering and their list, newest first ('n\\n'..JSON)
//   T..'lease:'..id          the replica that carries the job forward
//   T..'users', T..'companies'  hashes of records; T..'uorder', T..'corder' zsets by first sight
//   T..'cu:'..company        zset of the company's users (its user count is the size)
//   T..'udel', T..'cdel'     zsets of users / companies marked for deletion, scored by due time
//   P..'deltenants'          set of tenants with deletions pending
//   T..'faults'              list of queued faults
//   T..'exports', T..'xorder', T..'xactive', T..'xfile:'..  export jobs and files (redis-exports.ts)
//   T..'lookup:'..name       a content lookup's items as JSON (redis-lookups.ts)
//
// A user record is: company (or empty), createdAt, updatedAt, what last touched
// it, first-seen sequence, then metadata pairs; a company record: createdAt,
// updatedAt, what last touched it, then metadata pairs (redis-codec.ts).

import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import type { LuaScript } from './redis-context.js'

/** Lua functions the scripts share (prepended to each that needs them). */
export const HELPERS = `
local function split(s)
  local out, i = {}, 1
  while true do
    local j = string.find(s, '\\n', i, true)
    if not j then out[#out + 1] = string.sub(s, i); return out end
    out[#out + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end

-- Appends to out the metadata pairs of cur (from cstart) merged with those of
-- patch (from pstart): a null value removes the key, a removed key that comes
-- back goes last, as in a JavaScript object. A profile holds at most
-- ${MAX_METADATA_KEYS} keys: a new key beyond that is not added.
local function merge(out, cur, cstart, patch, pstart)
  local keys, vals, index, size = {}, {}, {}, 0
  for i = cstart, #cur - 1, 2 do
    keys[#keys + 1] = cur[i]; vals[#keys] = cur[i + 1]; index[cur[i]] = #keys; size = size + 1
  end
  for i = pstart, #patch - 1, 2 do
    local k, v = patch[i], patch[i + 1]
    local at = index[k]
    if v == 'null' then
      if at then keys[at] = false; index[k] = nil; size = size - 1 end
    elseif at then
      vals[at] = v
    elseif size < ${MAX_METADATA_KEYS} then
      keys[#keys + 1] = k; vals[#keys] = v; index[k] = #keys; size = size + 1
    end
  end
  for i = 1, #keys do
    if keys[i] then out[#out + 1] = keys[i]; out[#out + 1] = vals[i] end
  end
  return out
end

-- Identifies one user from an encoded row (id, company or empty, metadata
-- pairs): created on first sight, metadata merged, a new company moves it.
local function applyUser(T, row, touch, at)
  local id = row[1]
  local stored = redis.call('HGET', T .. 'users', id)
  local cur
  if stored == false then
    local seq = redis.call('INCR', T .. 'seq')
    redis.call('ZADD', T .. 'uorder', seq, id)
    cur = { '', at, at, touch, tostring(seq) }
  else
    cur = split(stored)
  end
  local company = row[2]
  if company ~= '' and company ~= cur[1] then
    if cur[1] ~= '' then redis.call('ZREM', T .. 'cu:' .. cur[1], id) end
    redis.call('ZADD', T .. 'cu:' .. company, cur[5], id)
    cur[1] = company
  end
  redis.call('HSET', T .. 'users', id, table.concat(merge({ cur[1], cur[2], at, touch, cur[5] }, cur, 6, row, 3), '\\n'))
end

-- Identifies one company from an encoded row (id, metadata pairs).
local function applyCompany(T, row, touch, at)
  local id = row[1]
  local stored = redis.call('HGET', T .. 'companies', id)
  local cur
  if stored == false then
    redis.call('ZADD', T .. 'corder', redis.call('INCR', T .. 'seq'), id)
    cur = { at, at, touch }
  else
    cur = split(stored)
  end
  redis.call('HSET', T .. 'companies', id, table.concat(merge({ cur[1], at, touch }, cur, 4, row, 2), '\\n'))
end

-- The zset of a lane's jobs that have not ended, by the job type that picks the lane.
local function activeKey(T, jobType)
  if jobType == 'import' then return T .. 'active:import' end
  return T .. 'active'
end

-- Keeps an event (its JSON without the tenant) as the events list's next
-- number, as the event store's append does.
local function keepEvent(T, json, retention)
  local id = redis.call('INCR', T .. 'eseq')
  if retention > 0 then
    redis.call('LPUSH', T .. 'events', id .. '\\n' .. json)
    redis.call('LTRIM', T .. 'events', 0, retention - 1)
  end
end

-- Applies an import row (event type, event JSON, then for identify rows the
-- profile's encoded row): the identify merges, and every row is kept as an
-- event. touch is the job's encoded id: JSON text of a string.
local function applyImport(T, row, touch, at, retention)
  if row[1] ~= 'track' and row[1] ~= 'page_view' then
    local profile = {}
    for i = 3, #row do profile[#profile + 1] = row[i] end
    if row[1] == 'identify_user' then applyUser(T, profile, touch, at) else applyCompany(T, profile, touch, at) end
  end
  -- The event's request id is the job's: the row's JSON gains it as its first field.
  keepEvent(T, '{"requestId":' .. touch .. ',' .. string.sub(row[2], 2), retention)
end

local function pushAll(key, list, from)
  for i = from, #list, 1000 do
    redis.call('RPUSH', key, unpack(list, i, math.min(i + 999, #list)))
  end
end
`

/**
 * ARGV: P, tenant, job, admission ('x' exclusive; else the most jobs that may
 * wait, -1 for any), the job's hash fields (see encJob), rows… → nil when
 * created, else the running job's id (or { id, 'full' } when the queue is full).
 */
export const CREATE_JOB: LuaScript = {
  name: 'upCreateJob', lua: `${HELPERS}
local P, tenant, job = ARGV[1], ARGV[2], ARGV[3]
local T = P .. 't:' .. tenant .. ':'
local A = activeKey(T, ARGV[10])
local first = redis.call('ZRANGE', A, 0, 0)
if #first > 0 then
  if ARGV[4] == 'x' then return first[1] end
  local most = tonumber(ARGV[4])
  if most >= 0 and redis.call('ZCARD', A) > most then return { first[1], 'full' } end
end
redis.call('ZADD', P .. 'tenants', 'NX', redis.call('INCR', P .. 'tseq'), tenant)
local seq = redis.call('INCR', T .. 'seq')
local key = T .. 'job:' .. job
redis.call('DEL', key, T .. 'rows:' .. job)
redis.call('HSET', key, 'status', ARGV[5], 'completed', ARGV[6], 'end', ARGV[7], 'failAt', ARGV[8], 'history', ARGV[9], 'type', ARGV[10], 'doc', ARGV[11])
redis.call('ZADD', T .. 'jobs', seq, job)
redis.call('ZADD', A, seq, job)
redis.call('SADD', P .. 'active', tenant .. '\\n' .. job)
pushAll(T .. 'rows:' .. job, ARGV, 12)
return false
`
}

/** ARGV: P, tenant, job, from, to, at, terminal (1/0), retention → the job's hash after the move, or nil. */
export const TRANSITION_JOB: LuaScript = {
  name: 'upTransitionJob', lua: `${HELPERS}
local P, tenant, job = ARGV[1], ARGV[2], ARGV[3]
local T = P .. 't:' .. tenant .. ':'
local key = T .. 'job:' .. job
if redis.call('HGET', key, 'status') ~= ARGV[4] then return false end
redis.call('HSET', key, 'status', ARGV[5], 'history', redis.call('HGET', key, 'history') .. '\\n' .. ARGV[5] .. '\\n' .. ARGV[6])
if ARGV[7] ~= '1' then return redis.call('HGETALL', key) end
redis.call('HSET', key, 'end', ARGV[6])
redis.call('DEL', T .. 'rows:' .. job, T .. 'lease:' .. job)
redis.call('ZREM', activeKey(T, redis.call('HGET', key, 'type')), job)
redis.call('SREM', P .. 'active', tenant .. '\\n' .. job)
redis.call('RPUSH', T .. 'ended', job)
local record = redis.call('HGETALL', key)
local retention = tonumber(ARGV[8])
while redis.call('LLEN', T .. 'ended') > retention do
  local old = redis.call('LPOP', T .. 'ended')
  redis.call('DEL', T .. 'job:' .. old)
  redis.call('ZREM', T .. 'jobs', old)
end
return record
`
}

/**
 * ARGV: P, tenant, job, count, at, event retention → the job's hash after, or nil once it has
 * ended. Takes the next rows off the job's list and merges them in the same
 * script, so a row is applied exactly once whoever runs it and whenever a
 * replica dies.
 */
export const APPLY_ROWS: LuaScript = {
  name: 'upApplyRows', lua: `${HELPERS}
local P, tenant, job, at = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local T = P .. 't:' .. tenant .. ':'
local key = T .. 'job:' .. job
local status = redis.call('HGET', key, 'status')
if status == false or status == 'completed' or status == 'failed' then return false end
local count = tonumber(ARGV[4])
local rows = {}
if count > 0 then rows = redis.call('LRANGE', T .. 'rows:' .. job, 0, count - 1) end
if #rows == 0 then return redis.call('HGETALL', key) end
redis.call('LTRIM', T .. 'rows:' .. job, #rows, -1)
local jobType = redis.call('HGET', key, 'type')
if jobType == 'import' then
  local retention = tonumber(ARGV[6])
  for r = 1, #rows do applyImport(T, split(rows[r]), job, at, retention) end
else
  local apply = applyCompany
  if jobType == 'users' then apply = applyUser end
  for r = 1, #rows do apply(T, split(rows[r]), job, at) end
end
redis.call('HINCRBY', key, 'completed', #rows)
return redis.call('HGETALL', key)
`
}

/** ARGV: P, tenant, job, failAt JSON → the job's hash, or nil when it is gone or has ended. */
export const SET_FAIL_AT: LuaScript = {
  name: 'upSetFailAt', lua: `
local key = ARGV[1] .. 't:' .. ARGV[2] .. ':job:' .. ARGV[3]
local status = redis.call('HGET', key, 'status')
if status == false or status == 'completed' or status == 'failed' then return false end
redis.call('HSET', key, 'failAt', ARGV[4])
return redis.call('HGETALL', key)
`
}

/** ARGV: P, tenant, a job type of the lane → the hash of the tenant's oldest job of that lane that has not ended, or nil. */
export const OLDEST_ACTIVE: LuaScript = {
  name: 'upOldestActive', lua: `${HELPERS}
local T = ARGV[1] .. 't:' .. ARGV[2] .. ':'
local first = redis.call('ZRANGE', activeKey(T, ARGV[3]), 0, 0)
if #first == 0 then return false end
return redis.call('HGETALL', T .. 'job:' .. first[1])
`
}

/** ARGV: P, tenant tag, record JSON, journal size → the entry's number (numbering goes on even when nothing is kept). */
export const APPEND_REQUEST: LuaScript = {
  name: 'upAppendRequest', lua: `
local id = redis.call('INCR', ARGV[1] .. 'jseq')
local size = tonumber(ARGV[4])
if size > 0 then
  redis.call('LPUSH', ARGV[1] .. 'journal', ARGV[2] .. '\\n' .. id .. '\\n' .. ARGV[3])
  redis.call('LTRIM', ARGV[1] .. 'journal', 0, size - 1)
end
return id
`
}

/** ARGV: P, tenant tag → drops the tenant's journal entries, keeping the others in order. */
export const FORGET_REQUESTS: LuaScript = {
  name: 'upForgetRequests', lua: `${HELPERS}
local key = ARGV[1] .. 'journal'
local all = redis.call('LRANGE', key, 0, -1)
local prefix = ARGV[2] .. '\\n'
local kept = {}
for i = 1, #all do
  if string.sub(all[i], 1, #prefix) ~= prefix then kept[#kept + 1] = all[i] end
end
if #kept == #all then return 0 end
redis.call('DEL', key)
pushAll(key, kept, 1)
return #all - #kept
`
}

/** ARGV: P, limit, then per tenant: tenant, n, n fault entries → 1 when queued, 0 (nothing added) when a tenant would go over the limit. */
export const ADD_FAULTS: LuaScript = {
  name: 'upAddFaults', lua: `
local P, limit = ARGV[1], tonumber(ARGV[2])
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  if redis.call('LLEN', P .. 't:' .. ARGV[i] .. ':faults') + n > limit then return 0 end
  i = i + 2 + n
end
i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  redis.call('ZADD', P .. 'tenants', 'NX', redis.call('INCR', P .. 'tseq'), ARGV[i])
  redis.call('RPUSH', P .. 't:' .. ARGV[i] .. ':faults', unpack(ARGV, i + 2, i + 1 + n))
  i = i + 2 + n
end
return 1
`
}

/**
 * ARGV: P, tenant, encoded method, encoded path → { uses left, rule JSON } of
 * the first matching fault, which loses one use (and goes when used up); nil
 * when none matches. An encoded path ending in *" is a prefix rule.
 */
export const TAKE_FAULT: LuaScript = {
  name: 'upTakeFault', lua: `${HELPERS}
local key = ARGV[1] .. 't:' .. ARGV[2] .. ':faults'
local all = redis.call('LRANGE', key, 0, -1)
for i = 1, #all do
  local f = split(all[i])
  local method, path = f[1], f[2]
  local ok = method == '' or method == ARGV[3]
  if ok and path ~= '' then
    if string.sub(path, -2) == '*"' then
      local prefix = string.sub(path, 1, -3)
      ok = string.sub(ARGV[4], 1, #prefix) == prefix
    else
      ok = path == ARGV[4]
    end
  end
  if ok then
    local left = tonumber(f[3]) - 1
    local json = table.concat(f, '\\n', 4)
    if left == 0 then
      redis.call('LSET', key, i - 1, '-')
      redis.call('LREM', key, 1, '-')
    else
      redis.call('LSET', key, i - 1, method .. '\\n' .. path .. '\\n' .. left .. '\\n' .. json)
    end
    return { tostring(left), json }
  end
end
return false
`
}

/**
 * KEYS: lease, the set of active jobs; ARGV: owner, ttl ms, the job's member of that set, '1' for a job
 * about to be created → 1 when the owner holds the lease now (taken or renewed), 0 when another does or
 * the job has ended: a sweep that read the job as active just before its end must not leave a lease behind.
 */
export const ACQUIRE_LEASE: LuaScript = {
  name: 'upAcquireLease', keys: 2, lua: `
if ARGV[4] ~= '1' and redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then return 0 end
local owner = redis.call('GET', KEYS[1])
if owner == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`
}

/** KEYS: lease; ARGV: owner → deletes the lease only if the owner still holds it. */
export const RELEASE_LEASE: LuaScript = {
  name: 'upReleaseLease', keys: 1, lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`
}
