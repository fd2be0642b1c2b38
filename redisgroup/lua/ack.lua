-- ack(ttl, queue, id, sid): task id of queue, from member sid, was handled:
-- acknowledges it (once: a task handled twice counts once), deletes it and
-- meets what sid's fences wait for. Replies 1, or 0 for a repeat.
local queue, id, sid = ARGV[2], ARGV[3], ARGV[4]
local q, rcpt = key('q', queue), 'q:' .. queue
if redis.call('XACK', q, 'workers', id) == 0 then return 0 end
redis.call('XDEL', q, id)
advance(rcpt, sid, num(redis.call('HGET', key('prog', rcpt), sid)) + 1)
consumed(rcpt, 1)
return 1
