-- diagnose(ttl, rid): replies {missing, lagging} for round rid: the
-- identities expected that have not arrived, and {recipient, sender, target,
-- handled} for each drain target not yet met.
local rid = ARGV[2]
local missing = identities(redis.call('SDIFF', rkey('rexp', rid), rkey('rarr', rid)))
local lagging = {}
local t = redis.call('HGETALL', rkey('rtgt', rid))
for i = 1, #t, 2 do
  local rcpt, s = string.match(t[i], '^(%d+):(%d+)$')
  local done = num(redis.call('HGET', key('prog', rcpt), s))
  if done < tonumber(t[i + 1]) then
    lagging[#lagging + 1] = {identity(rcpt), identity(s), tonumber(t[i + 1]), done}
  end
end
return cjson.encode({missing = missing, lagging = lagging})
