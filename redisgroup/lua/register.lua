-- register(ttl, token, name, window, cid, hbms, join, survivors, codec):
-- starts member name, with an id from the group's counter. token identifies
-- the call: a live member of that name registered with the same token was
-- registered by an earlier run of this call whose reply was lost, and its
-- id is the reply. Replies {'ok', id} or {'dup'} (a live member has the name) or
-- {'conf', field} (the group was created with another survivors setting or
-- codec).
local token, name, window, cid, hbms, join = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
for field, v in pairs({survivors = ARGV[8], codec = ARGV[9]}) do
  if redis.call('HSETNX', key('conf'), field, v) == 0 and conf(field) ~= v then
    return {'conf', field}
  end
end
touch(key('conf'))
local old = redis.call('HGET', key('live'), name)
if old then
  if redis.call('HGET', key('rtok'), old) == token then return {'ok', tonumber(old)} end
  if redis.call('EXISTS', key('hb', old)) == 1 then return {'dup'} end
  depart(old, 'lapse', 'heartbeat lapsed', '0', '1')
end
local id = tostring(redis.call('INCR', key('ids')))
touch(key('ids'))
redis.call('HSET', key('live'), name, id)
redis.call('HSET', key('names'), id, name)
redis.call('HSET', key('win'), id, window)
redis.call('HSET', key('owner'), id, cid)
redis.call('HSET', key('rtok'), id, token)
redis.call('SET', key('hb', id), '1', 'PX', hbms)
for _, k in ipairs({'live', 'names', 'win', 'owner', 'rtok'}) do touch(key(k)) end
if join == '1' then
  redis.call('SADD', key('members'), id)
  touch(key('members'))
  expect(id)
end
return {'ok', tonumber(id)}
