"""The Lua scripts behind RedisStore: each runs atomically, in one round trip.

Every script touches only keys of one thread bucket (see `bot.state.BUCKETS`):
the thread's state, inbox, lease, fence and event ids, and the bucket's index
of threads with unhandled events all carry the same `{hash tag}`, so each
script runs in one Redis Cluster slot.

A lease value is `<fence>:<random>`; every write of a holder compares the
whole value, so a holder whose lease expired (and was taken over, with a
higher fence) writes nothing.

The index holds a thread from the moment an event enters its inbox (`accept`,
`deliver`) until a script that holds the thread's lease sees the inbox empty
(`claim`, `next`, `release`): a thread with unhandled events is always in it.
"""

# KEYS: state, inbox, event-id key, index.  ARGV: event, require_thread, dedupe ttl, thread key, ttl
ACCEPT = """
if ARGV[2] == '1' and redis.call('exists', KEYS[1]) == 0 and redis.call('llen', KEYS[2]) == 0 then
  return 'not_ours'
end
if not redis.call('set', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then
  return 'duplicate'
end
redis.call('rpush', KEYS[2], ARGV[1])
redis.call('expire', KEYS[2], ARGV[5])
redis.call('sadd', KEYS[4], ARGV[4])
return 'queued'
"""

# A hand-over into another thread (a command's turn opening the interview thread).
# KEYS: state, inbox, event-id key, index.  ARGV: state or '', event, ttl, dedupe ttl, thread key
DELIVER = """
if ARGV[1] ~= '' then
  redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3])
end
if not redis.call('set', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then
  return 'duplicate'
end
redis.call('rpush', KEYS[2], ARGV[2])
redis.call('expire', KEYS[2], ARGV[3])
redis.call('sadd', KEYS[4], ARGV[5])
return 'queued'
"""

# KEYS: lease, fence, inbox, state, index, want, tried.  ARGV: random part, lease ms, thread key, want ms, ttl
# `tried` remembers the last head handed out (its digest): the same head handed out again was tried before
# by a process that died or stopped, and the reply says so.
# A claimer that will try again soon (it received an event of the thread) leaves `want` behind:
# the holder then hands the lease over at its next event instead of keeping the thread.
CLAIM = """
if redis.call('exists', KEYS[1]) == 1 then
  if ARGV[4] ~= '0' then
    redis.call('set', KEYS[6], '1', 'PX', ARGV[4])
  end
  return false
end
local token = redis.call('incr', KEYS[2]) .. ':' .. ARGV[1]
local head = redis.call('lindex', KEYS[3], 0)
if not head then
  redis.call('srem', KEYS[5], ARGV[3])
  return {'empty', token}
end
redis.call('set', KEYS[1], token, 'PX', ARGV[2])
local sig = redis.sha1hex(head)
local again = (redis.call('get', KEYS[7]) == sig) and '1' or ''
redis.call('set', KEYS[7], sig, 'EX', ARGV[5])
return {'claimed', token, 'event', head, redis.call('get', KEYS[4]) or '', again}
"""

# KEYS: lease, inbox, state, index, want, tried.  ARGV: token, thread key, ttl
NEXT = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return {'lost'}
end
local head = redis.call('lindex', KEYS[2], 0)
if not head then
  redis.call('del', KEYS[1])
  redis.call('srem', KEYS[4], ARGV[2])
  return {'empty'}
end
if redis.call('exists', KEYS[5]) == 1 then
  redis.call('del', KEYS[5], KEYS[1])
  return {'handed_off'}
end
local sig = redis.sha1hex(head)
local again = (redis.call('get', KEYS[6]) == sig) and '1' or ''
redis.call('set', KEYS[6], sig, 'EX', ARGV[3])
return {'event', head, redis.call('get', KEYS[3]) or '', again}
"""

# KEYS: lease, state.  ARGV: token, state, ttl
CHECKPOINT = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
"""

# KEYS: lease, state, inbox.  ARGV: token, state or '', ttl [, hand-over record]
# Without a hand-over the inbox head is dropped.  With one, the head is replaced by the
# hand-over record: the thread stays in the index until the record is delivered to the
# other thread (its own slot) and retired, so a crash in between loses nothing.
COMPLETE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
if ARGV[4] then
  if redis.call('llen', KEYS[3]) > 0 then
    redis.call('lset', KEYS[3], 0, ARGV[4])
  else
    redis.call('rpush', KEYS[3], ARGV[4])
  end
else
  redis.call('lpop', KEYS[3])
end
return 1
"""

# KEYS: lease, inbox.  ARGV: token, hand-over record.  Drops a delivered hand-over record.
RETIRE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
if redis.call('lindex', KEYS[2], 0) == ARGV[2] then
  redis.call('lpop', KEYS[2])
end
return 1
"""

# KEYS: lease.  ARGV: token, lease ms
RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lease, inbox, index.  ARGV: token, thread key
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  if redis.call('llen', KEYS[2]) == 0 then
    redis.call('srem', KEYS[3], ARGV[2])
  end
  return 1
end
return 0
"""

ALL = {"accept": ACCEPT, "deliver": DELIVER, "claim": CLAIM, "next": NEXT, "checkpoint": CHECKPOINT,
       "complete": COMPLETE, "retire": RETIRE, "renew": RENEW, "release": RELEASE}
