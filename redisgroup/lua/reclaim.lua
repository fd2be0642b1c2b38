-- reclaim(ttl, wid, queue, count): claims for worker wid up to count tasks
-- of queue that a worker which departed took and did not acknowledge, and
-- replies them as XCLAIM does ({} when there are none).
local wid, queue, count = ARGV[2], ARGV[3], tonumber(ARGV[4])
local q = key('q', queue)
if redis.call('EXISTS', q) == 0 then return {} end
local claimed = {}
for _, p in ipairs(redis.call('XPENDING', q, 'workers', '-', '+', 100)) do
  local id, owner = p[1], p[2]
  if owner ~= wid and not live(owner) and redis.call('SISMEMBER', key('closing'), owner) == 0 then
    for _, e in ipairs(redis.call('XCLAIM', q, 'workers', wid, 0, id)) do
      claimed[#claimed + 1] = e
    end
    if #claimed >= count then break end
  end
end
return claimed
