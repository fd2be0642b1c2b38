-- heartbeat(ttl, hbms, id...): renews each member's heartbeat key and replies
-- {id, cause, …} for the ids that are no longer live or closing: departed by
-- another process (its cause), or lost with Redis's state (''). It also
-- renews the group's long-lived keys and the members' own (renew).
local hbms = ARGV[2]
local lost = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if live(id) or redis.call('SISMEMBER', key('closing'), id) == 1 then
    redis.call('SET', key('hb', id), '1', 'PX', hbms)
    renewMember(id)
  else
    local name = redis.call('HGET', key('names'), id)
    lost[#lost + 1] = tonumber(id)
    lost[#lost + 1] = name and redis.call('HGET', key('cause'), name) or ''
  end
end
renew()
return lost
