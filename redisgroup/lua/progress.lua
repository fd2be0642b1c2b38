-- progress(ttl, rid, lastID, sid, k, …): member rid has consumed the first k
-- messages of each sender sid, up to entry lastID of its inbox, which is
-- trimmed to it. Replies 'ok', or 'gone' if rid departed and is not closing.
local rid, lastID = ARGV[2], ARGV[3]
if not live(rid) and redis.call('SISMEMBER', key('closing'), rid) == 0 then return 'gone' end
local total = 0
for i = 4, #ARGV, 2 do
  total = total + advance(rid, ARGV[i], tonumber(ARGV[i + 1]))
end
consumed(rid, total)
if lastID ~= '' then redis.call('XTRIM', key('in', rid), 'MINID', lastID) end
return 'ok'
