-- Shared by every script. KEYS[1] is the group's base key, "<prefix>:{<group>}":
-- sent:<s> counts, per recipient (a member's id or "q:<queue>"), the messages
-- member s addressed to it, and prog:<r> counts, per sender, the messages
-- recipient r consumed; a link's first message creates its prog field, so
-- that the fields of sent:<s> are s's recipients and those of prog:<r> are
-- r's senders.
-- every key below starts with it, so that they all share one hash slot. ARGV[1]
-- is the TTL in milliseconds that every write renews. Member ids, round
-- numbers and counters come first in a key; a free-form name comes last, so
-- that no two keys can collide.
local base = KEYS[1]
local ttl = tonumber(ARGV[1])

local function key(...) return base .. ':' .. table.concat({...}, ':') end
local function touch(k) redis.call('PEXPIRE', k, ttl) end
local function num(v) return tonumber(v) or 0 end

local function conf(field) return redis.call('HGET', key('conf'), field) end

-- identity returns {id, name} of member id.
local function identity(id)
  return {tonumber(id), redis.call('HGET', key('names'), id) or ''}
end

local function identities(ids)
  local out = {}
  for _, id in ipairs(ids) do out[#out + 1] = identity(id) end
  return out
end

-- A round is named "<n>:<barrier>"; its keys are key(kind, rid).
local function rkey(kind, rid) return base .. ':' .. kind .. ':' .. rid end

local function wake(cid, what)
  local w = key('wake', cid)
  redis.call('XADD', w, 'MAXLEN', '~', 1000, '*', 'w', what)
  touch(w)
end

-- finish ends round rid: state is 'ok' or 'fail'; the outcome (a JSON object)
-- is kept in the round's hash and appended to the release stream.
local function finish(rid, state, out)
  local r = rkey('r', rid)
  local n, barrier = string.match(rid, '^(%d+):(.*)$')
  out.s = state
  out.r = tonumber(n)
  out.left = identities(redis.call('SMEMBERS', rkey('rleft', rid)))
  local dep = {}
  local d = redis.call('HGETALL', rkey('rdep', rid))
  for i = 1, #d, 2 do dep[#dep + 1] = {identity(d[i]), d[i + 1]} end
  out.dep = dep
  local enc = cjson.encode(out)
  redis.call('HSET', r, 'state', state, 'out', enc)
  touch(r)
  -- Only the outcome stays, for a waiter that missed the release stream.
  redis.call('DEL', rkey('rexp', rid), rkey('rarr', rid), rkey('rleft', rid), rkey('rdep', rid), rkey('rtgt', rid))
  redis.call('ZREM', key('open', barrier), n)
  redis.call('SREM', key('rounds'), rid)
  redis.call('SREM', key('draining'), rid)
  local rel = key('rel')
  redis.call('XADD', rel, 'MAXLEN', '~', 10000, '*', 'r', rid, 'o', enc)
  touch(rel)
end

-- tryRelease releases rid if it drains and its mode's condition holds.
local function tryRelease(rid)
  local r = rkey('r', rid)
  if redis.call('HGET', r, 'state') ~= 'd' then return end
  local mode = redis.call('HGET', r, 'mode')
  if mode == 'delivery' and num(redis.call('HGET', r, 'unmet')) > 0 then return end
  if mode == 'processing' and num(redis.call('GET', key('unhandled'))) > 0 then return end
  finish(rid, 'ok', {})
end

local function releaseQuiescent()
  if num(redis.call('GET', key('unhandled'))) > 0 then return end
  for _, rid in ipairs(redis.call('SMEMBERS', key('draining'))) do tryRelease(rid) end
end

-- checkComplete moves an arriving round whose every expected member arrived
-- (or left, or departed) to draining, and releases it if it may.
local function checkComplete(rid)
  local r = rkey('r', rid)
  if redis.call('HGET', r, 'state') ~= 'a' then return end
  if #redis.call('SDIFF', rkey('rexp', rid), rkey('rarr', rid)) > 0 then return end
  redis.call('HSET', r, 'state', 'd')
  if redis.call('HGET', r, 'mode') == 'processing' then
    redis.call('SADD', key('draining'), rid)
    touch(key('draining'))
  end
  tryRelease(rid)
end

local function live(id)
  local name = redis.call('HGET', key('names'), id)
  return name and redis.call('HGET', key('live'), name) == id
end

-- waitFor registers item ("r|<rid>" or "o|<cid>|<fid>") on every link of
-- sender s whose recipient (a member, or a queue "q:<name>") has not handled
-- what s addressed to it, and returns how many links it waits on.
local function waitFor(s, item)
  local unmet = 0
  for _, rcpt in ipairs(redis.call('HKEYS', key('sent', s))) do
    local sent = num(redis.call('HGET', key('sent', s), rcpt))
    local done = num(redis.call('HGET', key('prog', rcpt), s))
    local open = string.sub(rcpt, 1, 2) == 'q:' or live(rcpt)
      or redis.call('SISMEMBER', key('closing'), rcpt) == 1
    if done < sent and open then
      local w = key('wait', rcpt, s)
      redis.call('ZADD', w, sent, item)
      touch(w)
      unmet = unmet + 1
    end
  end
  return unmet
end

-- arriveTargets makes delivery round rid wait for what sender s addressed
-- to each recipient, and records those targets (rtgt: "recipient:sender" →
-- count) for a diagnosis.
local function arriveTargets(rid, s)
  local n = waitFor(s, 'r|' .. rid)
  if n == 0 then return end
  redis.call('HINCRBY', rkey('r', rid), 'unmet', n)
  local t = rkey('rtgt', rid)
  for _, rcpt in ipairs(redis.call('HKEYS', key('sent', s))) do
    redis.call('HSET', t, rcpt .. ':' .. s, num(redis.call('HGET', key('sent', s), rcpt)))
  end
  touch(t)
end

-- advance records that recipient rcpt has consumed the first k messages s
-- addressed to it: it meets the waits on that link and wakes s if it waits for
-- room. It returns how many messages that consumed.
local function advance(rcpt, s, k)
  local prog = key('prog', rcpt)
  local old = num(redis.call('HGET', prog, s))
  if k <= old then return 0 end
  redis.call('HSET', prog, s, k)
  touch(prog)
  local w = key('wait', rcpt, s)
  local due = redis.call('ZRANGEBYSCORE', w, '-inf', k)
  if #due > 0 then
    redis.call('ZREMRANGEBYSCORE', w, '-inf', k)
    for _, item in ipairs(due) do
      if string.sub(item, 1, 2) == 'r|' then
        local rid = string.sub(item, 3)
        if redis.call('HINCRBY', rkey('r', rid), 'unmet', -1) <= 0 then tryRelease(rid) end
      else
        local cid, fid = string.match(item, '^o|([^|]*)|(.*)$')
        local f = key('ob', fid)
        if redis.call('HINCRBY', f, 'unmet', -1) <= 0 then
          wake(cid, 'f' .. fid)
          redis.call('DEL', f)
        else
          touch(f)
        end
      end
    end
  end
  if redis.call('SREM', key('blocked', rcpt), s) == 1 then
    local cid = redis.call('HGET', key('owner'), s)
    if cid then wake(cid, 'm' .. s) end
  end
  return k - old
end

-- consumed subtracts n messages handled (or dropped) at rcpt from the counts
-- a processing fence waits on.
local function consumed(rcpt, n)
  if n <= 0 then return end
  redis.call('HINCRBY', key('pend'), rcpt, -n)
  local u = redis.call('DECRBY', key('unhandled'), n)
  if u <= 0 then releaseQuiescent() end
end

-- depart removes member id: graceful ('1') leaves its rounds, otherwise it
-- fails them (or, with survivors, completes them without it). kind and msg
-- are its cause. drop ('1') consumes what its inbox still holds.
local function depart(id, kind, msg, graceful, drop)
  local name = redis.call('HGET', key('names'), id)
  if not name then return end
  local cause = cjson.encode({id = tonumber(id), name = name, kind = kind, msg = msg})
  if redis.call('HGET', key('live'), name) == id then
    redis.call('HDEL', key('live'), name)
    redis.call('HSET', key('cause'), name, cause)
    touch(key('cause'))
    if drop ~= '1' then
      redis.call('SADD', key('closing'), id)
      touch(key('closing'))
    end
    redis.call('SREM', key('members'), id)
    local survivors = conf('survivors') == '1'
    for _, rid in ipairs(redis.call('SMEMBERS', key('rounds'))) do
      if redis.call('SISMEMBER', rkey('rexp', rid), id) == 1 then
        local arrived = redis.call('SISMEMBER', rkey('rarr', rid), id) == 1
        if graceful == '1' then
          if not arrived then
            redis.call('SADD', rkey('rarr', rid), id)
            redis.call('SADD', rkey('rleft', rid), id)
            if redis.call('HGET', rkey('r', rid), 'mode') == 'delivery' then arriveTargets(rid, id) end
          end
        elseif survivors then
          redis.call('SADD', rkey('rarr', rid), id)
          redis.call('HSET', rkey('rdep', rid), id, cause)
        else
          finish(rid, 'fail', {who = {tonumber(id), name}, cause = cause})
        end
        for _, kind in ipairs({'rarr', 'rleft', 'rdep'}) do touch(rkey(kind, rid)) end
        checkComplete(rid)
      end
    end
  end
  if drop == '1' then
    redis.call('SREM', key('closing'), id)
    redis.call('DEL', key('hb', id))
    local total = 0
    for _, s in ipairs(redis.call('HKEYS', key('prog', id))) do
      total = total + advance(id, s, num(redis.call('HGET', key('sent', s), id)))
    end
    consumed(id, total)
    redis.call('DEL', key('in', id))
    for _, s in ipairs(redis.call('SMEMBERS', key('blocked', id))) do
      local cid = redis.call('HGET', key('owner'), s)
      if cid then wake(cid, 'm' .. s) end
    end
    redis.call('DEL', key('blocked', id))
  end
end

-- lapse departs every member whose heartbeat key expired, as crashed.
local function lapse()
  local ids = redis.call('HVALS', key('live'))
  for _, id in ipairs(redis.call('SMEMBERS', key('closing'))) do ids[#ids + 1] = id end
  for _, id in ipairs(ids) do
    if redis.call('EXISTS', key('hb', id)) == 0 then
      depart(id, 'lapse', 'heartbeat lapsed', '0', '1')
    end
  end
end
