-- lags(ttl, sid): replies {rid, sent, handled, …} (rid a member's id, or
-- "q:<queue>") for every link of sender sid
-- whose recipient has not handled everything sid addressed to it.
local sid = ARGV[2]
local out = {}
for _, r in ipairs(redis.call('HKEYS', key('sent', sid))) do
  local sent = num(redis.call('HGET', key('sent', sid), r))
  local done = num(redis.call('HGET', key('prog', r), sid))
  if r ~= '#' and done < sent then
    out[#out + 1] = r
    out[#out + 1] = sent
    out[#out + 1] = done
  end
end
return out
