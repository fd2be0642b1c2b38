-- check(ttl, rid...): departs members whose heartbeat lapsed, then replies
-- with each round's outcome: '' while it is open, 'missing' when Redis no
-- longer knows it.
lapse()
local out = {}
for i = 2, #ARGV do
  local r = rkey(ARGV[i])
  local st = redis.call('HGET', r, 'state')
  if not st then
    out[#out + 1] = 'missing'
  elseif st == 'ok' or st == 'fail' then
    out[#out + 1] = redis.call('HGET', r, 'out')
  else
    out[#out + 1] = ''
  end
end
return out
