-- dispatch(ttl, sid, queue, seq, body…): appends each body to queue's
-- stream, as a task from member sid, and counts it on sid's link to the
-- queue (the pseudo-recipient "q:<queue>"), so that sid's fences wait until
-- a worker acknowledged it. seq numbers the call in sid's stream, as a
-- send's does: one not above the highest seq of sid processed before was
-- dispatched by an earlier run whose reply was lost, and nothing is
-- appended. Replies {'ok', number of tasks}, or {'self', cause}.
local sid, queue, seq = ARGV[2], ARGV[3], ARGV[4]
if not live(sid) then
  local name = redis.call('HGET', key('names'), sid)
  return {'self', name and redis.call('HGET', key('cause'), name) or ''}
end
local n = #ARGV - 4
if tonumber(seq) <= num(redis.call('HGET', key('sent', sid), '#')) then return {'ok', n} end
redis.call('HSET', key('sent', sid), '#', seq)
local q, rcpt = key('q', queue), 'q:' .. queue
if redis.call('EXISTS', q) == 0 then
  redis.call('XGROUP', 'CREATE', q, 'workers', '0', 'MKSTREAM')
end
local sname = redis.call('HGET', key('names'), sid)
for i = 5, #ARGV do
  local k = redis.call('HINCRBY', key('sent', sid), rcpt, 1)
  redis.call('XADD', q, '*', 's', sid, 'n', sname, 'k', k, 'b', ARGV[i])
end
redis.call('HINCRBY', key('pend'), rcpt, n)
redis.call('INCRBY', key('unhandled'), n)
for _, k in ipairs({q, key('sent', sid), key('pend'), key('unhandled')}) do touch(k) end
return {'ok', n}
