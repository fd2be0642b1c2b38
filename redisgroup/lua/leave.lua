-- leave(ttl, id, token): member id leaves the group gracefully: every
-- arriving round that expects it and that it is not in yet counts it as in
-- and fences what it sent. token identifies the call: if id left with the
-- same token, this is a retry whose reply was lost. Replies 'ok', 'gone' or
-- 'notmember'.
local id, token = ARGV[2], ARGV[3]
if not live(id) then return 'gone' end
if redis.call('SREM', key('members'), id) == 0 then
  if redis.call('HGET', key('ltok'), id) == token then return 'ok' end
  return 'notmember'
end
redis.call('HSET', key('ltok'), id, token)
touch(key('ltok'))
for _, rid in ipairs(unfinished()) do leaveRound(rid, id) end
return 'ok'
