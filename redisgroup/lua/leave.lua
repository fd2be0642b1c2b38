-- leave(ttl, id): member id leaves the group gracefully: every arriving round
-- that expects it and that it has not arrived at counts it as in and fences
-- what it sent. Replies 'ok', 'gone' or 'notmember'.
local id = ARGV[2]
if not live(id) then return 'gone' end
if redis.call('SREM', key('members'), id) == 0 then return 'notmember' end
for _, rid in ipairs(redis.call('SMEMBERS', key('rounds'))) do
  if redis.call('SISMEMBER', rkey('rexp', rid), id) == 1
    and redis.call('SISMEMBER', rkey('rarr', rid), id) == 0 then
    redis.call('SADD', rkey('rarr', rid), id)
    redis.call('SADD', rkey('rleft', rid), id)
    touch(rkey('rarr', rid))
    touch(rkey('rleft', rid))
    if redis.call('HGET', rkey('r', rid), 'mode') == 'delivery' then arriveTargets(rid, id) end
    checkComplete(rid)
  end
end
return 'ok'
