-- join(ttl, id, token): member id joins the group, expected in every
-- arriving round. Joining twice is joining once: token is not needed.
-- Replies 'ok' or 'gone'.
local id = ARGV[2]
if not live(id) then return 'gone' end
if redis.call('SADD', key('members'), id) == 1 then
  touch(key('members'))
  expect(id)
end
return 'ok'
