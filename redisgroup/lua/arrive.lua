-- arrive(ttl, sid, barrier, mode, token): member sid arrives at the oldest
-- arriving round of barrier that expects it and that it is not in yet, or at
-- a new one. token identifies the arrival: the member's last arrival at
-- barrier with the same token is a retry, whose reply was lost, and gets that
-- arrival's reply again. Replies {'ok', round, outcome} (outcome '' while open),
-- {'mismatch', round, mode}, {'notmember'} or {'self', cause}.
local sid, barrier, mode, token = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
-- A member of the group is live: departing removes both.
if redis.call('SISMEMBER', key('members'), sid) == 0 then
  if live(sid) then return {'notmember'} end
  local name = redis.call('HGET', key('names'), sid)
  return {'self', name and redis.call('HGET', key('cause'), name) or ''}
end
local tokens = key('atok', sid)
local prev = redis.call('HGET', tokens, barrier)
if prev then
  local pt, pn = string.match(prev, '^(%d+):(%d+)$')
  if pt == token then
    local f = redis.call('HMGET', rkey(pn .. ':' .. barrier), 'state', 'out')
    return {'ok', tonumber(pn), f[2] or ''}
  end
end
local open = key('open', barrier)
local rid, n
for _, entry in ipairs(redis.call('ZRANGE', open, 0, -1)) do
  local c, m = string.match(entry, '^(%d+):(.*)$')
  if redis.call('HDEL', rkey(c .. ':' .. barrier), 'e' .. sid) == 1 then
    if m ~= mode then
      redis.call('HSET', rkey(c .. ':' .. barrier), 'e' .. sid, '1')
      return {'mismatch', tonumber(c), m}
    end
    rid, n = c .. ':' .. barrier, tonumber(c)
    break
  end
end
if not rid then
  n = redis.call('INCR', key('seq', barrier))
  touch(key('seq', barrier))
  rid = n .. ':' .. barrier
  local r = rkey(rid)
  local ids = redis.call('SMEMBERS', key('members'))
  local fields = {'mode', mode, 'state', 'a', 'need', #ids}
  for _, id in ipairs(ids) do
    if id ~= sid then
      fields[#fields + 1] = 'e' .. id
      fields[#fields + 1] = '1'
    end
  end
  hset(r, fields)
  touch(r)
  redis.call('SUNIONSTORE', rkey(rid, 'exp'), key('members'))
  touch(rkey(rid, 'exp'))
  redis.call('ZADD', open, n, n .. ':' .. mode)
  touch(open)
  redis.call('SADD', key('rounds'), rid)
  touch(key('rounds'))
end
redis.call('HSET', tokens, barrier, token .. ':' .. n)
touch(tokens)
if mode == 'delivery' then arriveTargets(rid, sid) end
return {'ok', n, counted(rid, mode) or ''}
