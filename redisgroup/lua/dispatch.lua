-- dispatch(ttl, sid, queue, body…): appends each body to queue's stream, as
-- a task from member sid, and counts it on sid's link to the queue (the
-- pseudo-recipient "q:<queue>"), so that sid's fences wait until a worker
-- acknowledged it. Replies the number of tasks, or {'self', cause}.
local sid, queue = ARGV[2], ARGV[3]
if not live(sid) then
  local name = redis.call('HGET', key('names'), sid)
  return {'self', name and redis.call('HGET', key('cause'), name) or ''}
end
local q, rcpt = key('q', queue), 'q:' .. queue
if redis.call('EXISTS', q) == 0 then
  redis.call('XGROUP', 'CREATE', q, 'workers', '0', 'MKSTREAM')
end
local sname = redis.call('HGET', key('names'), sid)
for i = 4, #ARGV do
  local k = redis.call('HINCRBY', key('sent', sid), rcpt, 1)
  redis.call('XADD', q, '*', 's', sid, 'n', sname, 'k', k, 'b', ARGV[i])
end
local n = #ARGV - 3
redis.call('HINCRBY', key('pend'), rcpt, n)
redis.call('INCRBY', key('unhandled'), n)
for _, k in ipairs({q, key('sent', sid), key('pend'), key('unhandled')}) do touch(k) end
return {'ok', n}
