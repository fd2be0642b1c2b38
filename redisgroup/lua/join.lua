-- join(ttl, id): member id joins the group, expected in every arriving round.
-- Replies 'ok' or 'gone'.
local id = ARGV[2]
if not live(id) then return 'gone' end
if redis.call('SADD', key('members'), id) == 1 then
  touch(key('members'))
  for _, rid in ipairs(redis.call('SMEMBERS', key('rounds'))) do
    if redis.call('HGET', rkey('r', rid), 'state') == 'a' then
      redis.call('SADD', rkey('rexp', rid), id)
      touch(rkey('rexp', rid))
    end
  end
end
return 'ok'
