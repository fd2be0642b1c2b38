-- send(ttl, sid, (seq, handler, toName, toID, body)…): appends each body, in
-- order, as message seq of member sid's stream, to the inbox of member toName
-- (whose id must be toID unless it is '0'). Outside a handler ('0') a message
-- first needs room in sid's window at its recipient; at the first that has
-- none, the script stops and registers sid to be woken. A message to a
-- recipient that is unknown or departed is not sent. A message whose seq is
-- not above the highest seq of sid processed before (field '#' of sent:<sid>)
-- was processed by an earlier run of this batch, whose reply was lost: it
-- counts as done, and is not sent again.
--
-- Replies {status, done, links, errors}: status 'ok', 'full' or 'self' (sid
-- departed: nothing was sent; errors[1] is its cause); done the number of
-- messages processed (sent or refused); links {rid, name, count, consumed,
-- window, …} for each recipient written to or found full; errors {i, kind,
-- cause, …} for each message i refused ('unknown' or 'gone').
local sid = ARGV[2]
if not live(sid) then
  local name = redis.call('HGET', key('names'), sid)
  return {'self', 0, {}, {0, 'self', name and redis.call('HGET', key('cause'), name) or ''}}
end
local sname = redis.call('HGET', key('names'), sid)
local sentKey = key('sent', sid)
local rcpts = {}   -- name → {id, sent, done, window, n}, or false when refused
local order = {}
local errors = {}
local status, done = 'ok', 0
local hw = num(redis.call('HGET', sentKey, '#'))
local last = hw
local function lookup(name, toID)
  local id = redis.call('HGET', key('live'), name)
  if not id or (toID ~= '0' and id ~= toID) then return nil end
  local r = rcpts[id]
  if not r then
    r = {id = id, name = name, sent = num(redis.call('HGET', sentKey, id)),
         done = num(redis.call('HGET', key('prog', id), sid)), window = num(redis.call('HGET', key('win'), id)), n = 0}
    rcpts[id] = r
    order[#order + 1] = r
  end
  return r
end
for i = 3, #ARGV, 5 do
  local seq, handler, toName, toID, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local r = tonumber(seq) > hw and lookup(toName, toID)
  if tonumber(seq) <= hw then
    -- processed by an earlier run
  elseif not r then
    local cause = redis.call('HGET', key('cause'), toName)
    if cause and (toID == '0' or cjson.decode(cause).id == tonumber(toID)) then
      errors[#errors + 1] = done + 1; errors[#errors + 1] = 'gone'; errors[#errors + 1] = cause
    elseif toID ~= '0' then
      errors[#errors + 1] = done + 1; errors[#errors + 1] = 'gone'; errors[#errors + 1] = ''
    else
      errors[#errors + 1] = done + 1; errors[#errors + 1] = 'unknown'; errors[#errors + 1] = ''
    end
  else
    if handler ~= '1' and r.sent - r.done >= r.window then
      redis.call('SADD', key('blocked', r.id), sid)
      touch(key('blocked', r.id))
      status = 'full'
      break
    end
    r.sent = r.sent + 1
    r.n = r.n + 1
    if r.sent == 1 then
      redis.call('HSETNX', key('prog', r.id), sid, 0)
      touch(key('prog', r.id))
    end
    redis.call('XADD', key('in', r.id), '*', 's', sid, 'n', sname, 'q', seq, 'k', r.sent, 'b', body)
  end
  done = done + 1
  last = math.max(last, tonumber(seq))
end
local links, total = {}, 0
local marked = last == hw -- '#' needs no update
for _, r in ipairs(order) do
  if r.n > 0 then
    if marked then
      redis.call('HSET', sentKey, r.id, r.sent)
    else
      redis.call('HSET', sentKey, r.id, r.sent, '#', last)
      marked = true
    end
    redis.call('HINCRBY', key('pend'), r.id, r.n)
    touch(key('in', r.id))
    total = total + r.n
  end
  links[#links + 1] = tonumber(r.id); links[#links + 1] = r.name; links[#links + 1] = r.sent
  links[#links + 1] = r.done; links[#links + 1] = r.window
end
if not marked then -- processed, none appended: refused ones
  redis.call('HSET', sentKey, '#', last)
  touch(sentKey)
end
if total > 0 then
  redis.call('INCRBY', key('unhandled'), total)
  for _, k in ipairs({sentKey, key('pend'), key('unhandled')}) do touch(k) end
end
return {status, done, links, errors}
