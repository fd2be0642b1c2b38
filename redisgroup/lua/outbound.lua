-- outbound(ttl, sid, cid, fid): registers outbound fence fid of member sid
-- (of coordinator cid) on every link whose recipient has not handled what sid
-- addressed to it. Replies the number of such links: 0 means the fence holds
-- already; otherwise cid's wake stream gets 'f<fid>' once they all caught up.
-- A fence registered already (a retry whose reply was lost) is not counted
-- again: its links left to wait for are the reply.
local sid, cid, fid = ARGV[2], ARGV[3], ARGV[4]
local f = key('ob', fid)
local registered = redis.call('HGET', f, 'unmet')
if registered then return tonumber(registered) end
local n = waitFor(sid, 'o|' .. cid .. '|' .. fid)
if n > 0 then
  redis.call('HINCRBY', f, 'unmet', n)
  touch(f)
end
return n
