-- arrive(ttl, sid, barrier, mode): member sid arrives at the oldest arriving
-- round of barrier that expects it and that it has not arrived at, or at a
-- new one. Replies {'ok', round, outcome} (outcome '' while open),
-- {'mismatch', round, mode}, {'notmember'} or {'self', cause}.
local sid, barrier, mode = ARGV[2], ARGV[3], ARGV[4]
if not live(sid) then
  local name = redis.call('HGET', key('names'), sid)
  return {'self', name and redis.call('HGET', key('cause'), name) or ''}
end
if redis.call('SISMEMBER', key('members'), sid) == 0 then return {'notmember'} end
local rid
for _, n in ipairs(redis.call('ZRANGE', key('open', barrier), 0, -1)) do
  local c = n .. ':' .. barrier
  if redis.call('HGET', rkey('r', c), 'state') == 'a'
    and redis.call('SISMEMBER', rkey('rexp', c), sid) == 1
    and redis.call('SISMEMBER', rkey('rarr', c), sid) == 0 then
    rid = c
    break
  end
end
if not rid then
  local n = redis.call('INCR', key('seq', barrier))
  touch(key('seq', barrier))
  rid = n .. ':' .. barrier
  redis.call('HSET', rkey('r', rid), 'mode', mode, 'state', 'a', 'unmet', 0)
  redis.call('SUNIONSTORE', rkey('rexp', rid), key('members'))
  touch(rkey('r', rid))
  touch(rkey('rexp', rid))
  redis.call('ZADD', key('open', barrier), n, n)
  redis.call('SADD', key('rounds'), rid)
  touch(key('open', barrier))
  touch(key('rounds'))
end
local r = rkey('r', rid)
local n = tonumber(string.match(rid, '^(%d+):'))
local m = redis.call('HGET', r, 'mode')
if m ~= mode then return {'mismatch', n, m} end
-- The round's keys got their TTL when it was created (rleft and rdep when
-- first written): later writes keep it.
if redis.call('SADD', rkey('rarr', rid), sid) == 1 and redis.call('SCARD', rkey('rarr', rid)) == 1 then
  touch(rkey('rarr', rid))
end
if mode == 'delivery' then arriveTargets(rid, sid) end
checkComplete(rid)
local out = ''
local st = redis.call('HGET', r, 'state')
if st == 'ok' or st == 'fail' then out = redis.call('HGET', r, 'out') end
return {'ok', n, out}
