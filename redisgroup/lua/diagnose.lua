-- diagnose(ttl, rid): replies {missing, lagging} for round rid: the
-- identities expected that are not in yet, and {recipient, sender, target,
-- handled} for each drain target not yet met.
local missing, lagging = {}, {}
local f = redis.call('HGETALL', rkey(ARGV[2]))
for i = 1, #f, 2 do
  local id = string.match(f[i], '^e(%d+)$')
  local rcpt, s = string.match(f[i], '^t(%d+):(%d+)$')
  if id then missing[#missing + 1] = identity(id) end
  if rcpt then
    local done = num(redis.call('HGET', key('prog', rcpt), s))
    if done < tonumber(f[i + 1]) then
      lagging[#lagging + 1] = {identity(rcpt), identity(s), tonumber(f[i + 1]), done}
    end
  end
end
return cjson.encode({missing = missing, lagging = lagging})
