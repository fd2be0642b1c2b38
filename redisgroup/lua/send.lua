-- send(ttl, sid, seq, handler, toName, toID, body, publish): appends body, as
-- message seq of member sid's stream, to the inbox of member toName (whose id
-- must be toID unless it is '0'), or with publish '1' to every other member of
-- the group. Outside a handler ('0') it first checks every recipient's window.
-- Replies {'ok', rid, k, …} (each recipient and the link's count),
-- {'full', rid} (nothing sent; sid is registered to be woken), {'unknown'},
-- {'gone', cause} (the recipient departed) or {'self', cause}.
local sid, seq, handler, toName, toID, body, publish =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if not live(sid) then
  local name = redis.call('HGET', key('names'), sid)
  return {'self', name and redis.call('HGET', key('cause'), name) or ''}
end
local to = {}
if publish == '1' then
  for _, id in ipairs(redis.call('SMEMBERS', key('members'))) do
    if id ~= sid then to[#to + 1] = id end
  end
else
  local id = redis.call('HGET', key('live'), toName)
  if not id or (toID ~= '0' and id ~= toID) then
    local cause = redis.call('HGET', key('cause'), toName)
    if cause and (toID == '0' or cjson.decode(cause).id == tonumber(toID)) then
      return {'gone', cause}
    end
    if toID ~= '0' then return {'gone', ''} end
    return {'unknown'}
  end
  to[1] = id
end
if handler ~= '1' then
  for _, r in ipairs(to) do
    local sent = num(redis.call('HGET', key('sent', sid), r))
    local done = num(redis.call('HGET', key('prog', r), sid))
    if sent - done >= num(redis.call('HGET', key('win'), r)) then
      redis.call('SADD', key('blocked', r), sid)
      touch(key('blocked', r))
      return {'full', tonumber(r)}
    end
  end
end
local sname = redis.call('HGET', key('names'), sid)
local reply = {'ok'}
for _, r in ipairs(to) do
  local k = redis.call('HINCRBY', key('sent', sid), r, 1)
  local inbox = key('in', r)
  redis.call('XADD', inbox, '*', 's', sid, 'n', sname, 'q', seq, 'k', k, 'b', body)
  touch(inbox)
  redis.call('SADD', key('dest', sid), r)
  redis.call('SADD', key('senders', r), sid)
  touch(key('dest', sid))
  touch(key('senders', r))
  redis.call('HINCRBY', key('pend'), r, 1)
  redis.call('INCR', key('unhandled'))
  reply[#reply + 1] = tonumber(r)
  reply[#reply + 1] = k
end
touch(key('sent', sid))
touch(key('pend'))
touch(key('unhandled'))
return reply
