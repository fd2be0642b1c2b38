-- publish(ttl, sid, seq, handler, body): appends body, as message seq of
-- member sid's stream, to the inbox of every other member of the group:
-- outside a handler ('0') only if every window has room; otherwise nothing is
-- sent and sid is registered to be woken. Replies {'ok', rid, count, …} (each
-- recipient and the link's count), {'full', rid} or {'self', cause}. A seq
-- not above the highest seq of sid processed before was published by an
-- earlier run whose reply was lost: it replies {'ok'} and sends nothing.
local sid, seq, handler, body = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not live(sid) then
  local name = redis.call('HGET', key('names'), sid)
  return {'self', name and redis.call('HGET', key('cause'), name) or ''}
end
local sentKey = key('sent', sid)
if tonumber(seq) <= num(redis.call('HGET', sentKey, '#')) then return {'ok'} end
local to = {}
for _, id in ipairs(redis.call('SMEMBERS', key('members'))) do
  if id ~= sid then to[#to + 1] = id end
end
if handler ~= '1' then
  for _, r in ipairs(to) do
    local sent = num(redis.call('HGET', sentKey, r))
    local done = num(redis.call('HGET', key('prog', r), sid))
    if sent - done >= num(redis.call('HGET', key('win'), r)) then
      redis.call('SADD', key('blocked', r), sid)
      touch(key('blocked', r))
      return {'full', tonumber(r)}
    end
  end
end
local sname = redis.call('HGET', key('names'), sid)
redis.call('HSET', sentKey, '#', seq)
local reply = {'ok'}
for _, r in ipairs(to) do
  local k = redis.call('HINCRBY', sentKey, r, 1)
  if k == 1 then
    redis.call('HSETNX', key('prog', r), sid, 0)
    touch(key('prog', r))
  end
  local inbox = key('in', r)
  redis.call('XADD', inbox, '*', 's', sid, 'n', sname, 'q', seq, 'k', k, 'b', body)
  touch(inbox)
  redis.call('HINCRBY', key('pend'), r, 1)
  reply[#reply + 1] = tonumber(r)
  reply[#reply + 1] = k
end
if #to > 0 then
  redis.call('INCRBY', key('unhandled'), #to)
  for _, k in ipairs({sentKey, key('pend'), key('unhandled')}) do touch(k) end
end
return reply
