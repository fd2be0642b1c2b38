-- arrive(ttl, sid, barrier, mode, token, clean): member sid arrives at the
-- oldest arriving round of barrier that expects it and that it is not in
-- yet, or at a new one. token identifies the arrival: the member's last
-- arrival at barrier with the same token is a retry, whose reply was lost,
-- and gets that arrival's reply again. clean '1' says that sid sent nothing
-- since an arrival whose reply counted no delivery targets: it has none now
-- either, and a delivery round skips looking for them. Replies {'ok', round,
-- outcome, targets} (outcome '' while open; targets: how many links the
-- round waits on for sid, -1 for a retry's reply), {'mismatch', round,
-- mode}, {'notmember'} or {'self', cause}.
local sid, barrier, mode, token, clean = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local tokens = key('atok', sid) -- renewed by the member's heartbeats
local prev = redis.call('HGET', tokens, barrier)
if prev then
  local pt, pn = string.match(prev, '^(%d+):(%d+)$')
  if pt == token then
    local f = redis.call('HMGET', rkey(pn .. ':' .. barrier), 'state', 'out')
    return {'ok', tonumber(pn), f[2] or '', -1}
  end
end
local open = key('open', barrier)
local rid, n
local last -- the barrier's last round number, if it has an open zset
-- A round that still expects sid (e<sid>) has a live member sid: leaving
-- and departing delete the field.
local entries = redis.call('ZRANGE', open, 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local entry = entries[i]
  if entry == '#' then last = tonumber(entries[i + 1]) end
  local c, m = string.match(entry, '^(%d+):(.*)$')
  if c and redis.call('HDEL', rkey(c .. ':' .. barrier), 'e' .. sid) == 1 then
    if m ~= mode then
      redis.call('HSET', rkey(c .. ':' .. barrier), 'e' .. sid, '1')
      return {'mismatch', tonumber(c), m}
    end
    rid, n = c .. ':' .. barrier, tonumber(c)
    break
  end
end
if not rid then
  local ids = redis.call('SMEMBERS', key('members'))
  local fields = {'mode', mode, 'state', 'a', 'need', #ids}
  local member = false
  for _, id in ipairs(ids) do
    fields[#fields + 1] = 'm' .. id
    fields[#fields + 1] = '1'
    if id == sid then
      member = true
    else
      fields[#fields + 1] = 'e' .. id
      fields[#fields + 1] = '1'
    end
  end
  if not member then
    if live(sid) then return {'notmember'} end
    local name = redis.call('HGET', key('names'), sid)
    return {'self', name and redis.call('HGET', key('cause'), name) or ''}
  end
  n = (last or 0) + 1
  redis.call('ZADD', open, n, '#', n, n .. ':' .. mode)
  if not last then -- a new open zset
    touch(open)
    redis.call('SADD', key('barriers'), barrier)
    touch(key('barriers'))
  end
  rid = n .. ':' .. barrier
  local r = rkey(rid)
  hset(r, fields)
  redis.call('PEXPIRE', r, outcomeTTL) -- the heartbeats renew it while it is open
end
if redis.call('HSET', tokens, barrier, token .. ':' .. n) == 1 then touch(tokens) end
local targets = 0
if mode == 'delivery' and clean ~= '1' then targets = arriveTargets(rid, sid) end
return {'ok', n, counted(rid, mode) or '', targets}
