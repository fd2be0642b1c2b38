-- leave(ttl, id): member id leaves the group gracefully: every arriving round
-- that expects it and that it is not in yet counts it as in and fences what
-- it sent. Replies 'ok', 'gone' or 'notmember'.
local id = ARGV[2]
if not live(id) then return 'gone' end
if redis.call('SREM', key('members'), id) == 0 then return 'notmember' end
for _, rid in ipairs(unfinished()) do leaveRound(rid, id) end
return 'ok'
