-- Shared by every step. A step's KEYS[1] is the group's base key,
-- "<prefix>:{<group>}": every key below starts with it, so that they all
-- share one hash slot. Its ARGV[1] is the keys' TTL in milliseconds (see
-- renew for who renews it). Member ids, round numbers and counters come
-- first in a key; a free-form name comes last, so that no two keys can
-- collide.
--
-- The steps run as functions of one library (or, where the server has no
-- functions, each as a script after this prelude); either way each begins
-- with bind(KEYS, ARGV). Redis runs one step at a time, so the values bind
-- sets are the running step's. Nothing here calls a library at load time:
-- a library's loading may not.
--
-- sent:<s> counts, per recipient (a member's id or "q:<queue>"), the messages
-- member s addressed to it, and its field '#' is the highest seq of s's
-- stream that a send, publish or dispatch processed. prog:<r> counts, per
-- sender, the messages recipient r consumed; a link's first message creates
-- its prog field, so that the fields of sent:<s> (but '#') are s's
-- recipients and those of prog:<r> are r's senders.
local base, ttl, outcomeTTL

-- bind sets the running step's base key and TTL; a finished round keeps
-- its outcome for outcomeTTL (see below).
local function bind(keys, args)
  base, ttl = keys[1], tonumber(args[1])
  outcomeTTL = math.min(ttl, 60000)
end

-- key is the group's key named by one to three parts, joined by ':'.
local function key(a, b, c)
  if c then return base .. ':' .. a .. ':' .. b .. ':' .. c end
  if b then return base .. ':' .. a .. ':' .. b end
  return base .. ':' .. a
end
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

-- A round is named "<n>:<barrier>"; its state is the hash rkey(rid). While
-- it is unfinished the barrier's zset key('open', barrier) holds
-- "<n>:<mode>" with score n; its entry '#' holds the barrier's last round
-- number as its score, and the set 'barriers' names every barrier that has
-- an open zset. The hash's fields:
--   mode; state: 'a' arriving, 'd' draining, 'ok' or 'fail' once finished;
--   out: the outcome, once finished;
--   m<id> for each member the round expects; need: how many of them are not
--   in yet, and e<id> for each of those (arriving, leaving or departing
--   deletes it);
--   unmet: how many delivery targets are not met, and t<recipient>:<sender>,
--   each target, for a diagnosis;
--   l<id>: id left; d<id>: id departed, its cause; x: '1' once an l or d
--   field exists.
-- A round's hash lives outcomeTTL from its creation and from each renewal
-- while it is unfinished (renew), so a finished one keeps its outcome, for a
-- waiter that missed the release, for outcomeTTL less at most a heartbeat
-- interval.
-- 'barriers' and the open zsets get theirs when created, and every
-- heartbeat renews them (renew).
local function rkey(rid) return base .. ':r:' .. rid end

-- unfinished returns the ids of the group's unfinished rounds.
local function unfinished()
  local rids = {}
  for _, b in ipairs(redis.call('SMEMBERS', key('barriers'))) do
    for _, e in ipairs(redis.call('ZRANGE', key('open', b), 0, -1)) do
      local n = string.match(e, '^(%d+):')
      if n then rids[#rids + 1] = n .. ':' .. b end
    end
  end
  return rids
end

-- groupKeys are the group's keys that live as long as the group does.
local groupKeys = {'conf', 'ids', 'live', 'names', 'win', 'owner', 'rtok', 'ltok', 'members', 'cause',
  'closing', 'pend', 'unhandled', 'draining', 'barriers'}

-- renew renews the TTL of the group's long-lived keys (the steps that write
-- them renew it too) and of its unfinished rounds, so that the group stays
-- while its members run, however long none of them joins, sends or meets.
local function renew()
  for _, k in ipairs(groupKeys) do touch(key(k)) end
  for _, b in ipairs(redis.call('SMEMBERS', key('barriers'))) do touch(key('open', b)) end
  for _, rid in ipairs(unfinished()) do redis.call('PEXPIRE', rkey(rid), outcomeTTL) end
end

-- renewMember renews the TTL of member id's long-lived keys.
local function renewMember(id)
  for _, k in ipairs({'sent', 'prog', 'atok', 'blocked'}) do touch(key(k, id)) end
end

-- hset sets the fields {f, v, …} of hash k, in chunks that unpack can take.
local function hset(k, fields)
  for i = 1, #fields, 200 do
    redis.call('HSET', k, unpack(fields, i, math.min(i + 199, #fields)))
  end
end

-- notify appends fields to stream k and publishes "<entry id>\n<v>" on the
-- channel of the same name, for the watchers subscribed to it; a watcher
-- that was not reads the stream after it subscribed. A stream it creates
-- gets its TTL.
local function notify(k, fields, v, maxlen)
  local id = redis.call('XADD', k, 'NOMKSTREAM', 'MAXLEN', '~', maxlen, '*', unpack(fields))
  if not id then
    id = redis.call('XADD', k, 'MAXLEN', '~', maxlen, '*', unpack(fields))
    touch(k)
  end
  redis.call('PUBLISH', k, id .. '\n' .. v)
end

local function wake(cid, what)
  local w = key('wake', cid)
  notify(w, {'w', what}, what, 1000)
  touch(w)
end

-- outcomeOf returns who left round hash r and who departed from it.
local function outcomeOf(r)
  local left, dep = {}, {}
  local f = redis.call('HGETALL', r)
  for i = 1, #f, 2 do
    local kind, id = string.match(f[i], '^([ld])(%d+)$')
    if kind == 'l' then left[#left + 1] = identity(id) end
    if kind == 'd' then dep[#dep + 1] = {identity(id), f[i + 1]} end
  end
  return left, dep
end

-- finish ends round rid: state is 'ok' or 'fail'; the outcome out (a table,
-- encoded as JSON) is kept in the round's hash and published on the release
-- channel as "<outcome>\n<rid>" (the JSON has no newline; a barrier name
-- may). f is the round's fields {x, mode}, if the caller read them. It
-- returns the encoded outcome.
local function finish(rid, state, out, f)
  local r = rkey(rid)
  local n, barrier = string.match(rid, '^(%d+):(.*)$')
  f = f or redis.call('HMGET', r, 'x', 'mode')
  local enc
  if not f[1] and next(out) == nil then -- nobody left or departed: the common outcome
    enc = '{"s":"' .. state .. '","r":' .. n .. ',"left":{},"dep":{}}'
  else
    out.s, out.r, out.left, out.dep = state, tonumber(n), {}, {}
    if f[1] then out.left, out.dep = outcomeOf(r) end
    enc = cjson.encode(out)
  end
  redis.call('HSET', r, 'state', state, 'out', enc)
  redis.call('ZREM', key('open', barrier), n .. ':' .. f[2])
  if f[2] == 'processing' then redis.call('SREM', key('draining'), rid) end
  redis.call('PUBLISH', key('rel'), enc .. '\n' .. rid)
  return enc
end

-- releasable reports whether a draining round of the given mode whose
-- delivery targets not met number unmet may be released: at once for a
-- rendezvous, once every target is met for a delivery fence, once the group
-- is quiescent for a processing fence.
local function releasable(mode, unmet)
  if mode == 'delivery' then return num(unmet) <= 0 end
  if mode == 'processing' then return num(redis.call('GET', key('unhandled'))) <= 0 end
  return true
end

local function releaseQuiescent()
  if num(redis.call('GET', key('unhandled'))) > 0 then return end
  for _, rid in ipairs(redis.call('SMEMBERS', key('draining'))) do finish(rid, 'ok', {}) end
end

-- counted records that one more expected member of round rid (of the given
-- mode) is in. Once every one is, the round drains: it is released at once
-- if it may be, or marked draining. It returns the outcome, or nil.
local function counted(rid, mode)
  local r = rkey(rid)
  if redis.call('HINCRBY', r, 'need', -1) > 0 then return nil end
  local f = redis.call('HMGET', r, 'x', 'unmet')
  if releasable(mode, f[2]) then return finish(rid, 'ok', {}, {f[1], mode}) end
  redis.call('HSET', r, 'state', 'd')
  if mode == 'processing' then
    redis.call('SADD', key('draining'), rid)
    touch(key('draining'))
  end
  return nil
end

local function live(id)
  local name = redis.call('HGET', key('names'), id)
  return name and redis.call('HGET', key('live'), name) == id
end

-- waitFor registers item ("r|<rid>" or "o|<cid>|<fid>") on every link of
-- sender s whose recipient (a member, or a queue "q:<name>") has not handled
-- what s addressed to it. It returns how many links it waits on, and
-- {recipient, count, …} for them.
local function waitFor(s, item)
  local unmet, targets = 0, {}
  local sent = redis.call('HGETALL', key('sent', s))
  for i = 1, #sent, 2 do
    local rcpt, n = sent[i], tonumber(sent[i + 1])
    if rcpt ~= '#' and num(redis.call('HGET', key('prog', rcpt), s)) < n
      and (string.sub(rcpt, 1, 2) == 'q:' or live(rcpt)
        or redis.call('SISMEMBER', key('closing'), rcpt) == 1) then
      local w = key('wait', rcpt, s)
      redis.call('ZADD', w, n, item)
      touch(w)
      unmet = unmet + 1
      targets[#targets + 1] = rcpt
      targets[#targets + 1] = n
    end
  end
  return unmet, targets
end

-- arriveTargets makes delivery round rid wait for what sender s addressed
-- to each recipient, and records those targets for a diagnosis. It returns
-- how many links the round waits on.
local function arriveTargets(rid, s)
  local n, targets = waitFor(s, 'r|' .. rid)
  if n == 0 then return 0 end
  local r = rkey(rid)
  redis.call('HINCRBY', r, 'unmet', n)
  local fields = {}
  for i = 1, #targets, 2 do
    fields[#fields + 1] = 't' .. targets[i] .. ':' .. s
    fields[#fields + 1] = targets[i + 1]
  end
  hset(r, fields)
  return n
end

-- expect makes every arriving round expect member id, which joined.
local function expect(id)
  for _, rid in ipairs(unfinished()) do
    local r = rkey(rid)
    if redis.call('HGET', r, 'state') == 'a' and redis.call('HSETNX', r, 'm' .. id, '1') == 1 then
      redis.call('HSET', r, 'e' .. id, '1')
      redis.call('HINCRBY', r, 'need', 1)
    end
  end
end

-- leaveRound counts member id, which left gracefully, as in round rid if
-- the round expects it and it is not in yet, and fences what it sent.
local function leaveRound(rid, id)
  local r = rkey(rid)
  if redis.call('HDEL', r, 'e' .. id) == 0 then return end
  redis.call('HSET', r, 'l' .. id, '1', 'x', '1')
  local mode = redis.call('HGET', r, 'mode')
  if mode == 'delivery' then arriveTargets(rid, id) end
  counted(rid, mode)
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
        local r = rkey(rid)
        if redis.call('HINCRBY', r, 'unmet', -1) <= 0 and redis.call('HGET', r, 'state') == 'd' then
          finish(rid, 'ok', {})
        end
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
    for _, rid in ipairs(unfinished()) do
      if redis.call('HEXISTS', rkey(rid), 'm' .. id) == 1 then
        if graceful == '1' then
          leaveRound(rid, id)
        elseif survivors then
          local r = rkey(rid)
          redis.call('HSET', r, 'd' .. id, cause, 'x', '1')
          if redis.call('HDEL', r, 'e' .. id) == 1 then counted(rid, redis.call('HGET', r, 'mode')) end
        else
          finish(rid, 'fail', {who = {tonumber(id), name}, cause = cause})
        end
      end
    end
  end
  if drop == '1' then
    redis.call('SREM', key('closing'), id)
    redis.call('DEL', key('hb', id), key('atok', id))
    redis.call('HDEL', key('rtok'), id)
    redis.call('HDEL', key('ltok'), id)
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
