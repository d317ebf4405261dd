"""The Lua scripts behind RedisStore: each runs atomically, in one round trip.

A lease value is `<fence>:<random>`; every write of a holder compares the
whole value, so a holder whose lease expired (and was taken over, with a
higher fence) writes nothing.
"""

# KEYS: state, inbox, event-id key, active set.  ARGV: event, require_thread, dedupe ttl, thread key, ttl
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

# KEYS: lease, fence, inbox, state, active.  ARGV: random part, lease ms, thread key
CLAIM = """
if redis.call('exists', KEYS[1]) == 1 then
  return false
end
local token = redis.call('incr', KEYS[2]) .. ':' .. ARGV[1]
local head = redis.call('lindex', KEYS[3], 0)
if not head then
  redis.call('srem', KEYS[5], ARGV[3])
  return {'empty', token}
end
redis.call('set', KEYS[1], token, 'PX', ARGV[2])
return {'claimed', token, 'event', head, redis.call('get', KEYS[4]) or ''}
"""

# KEYS: lease, inbox, state, active.  ARGV: token, thread key
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
return {'event', head, redis.call('get', KEYS[3]) or ''}
"""

# KEYS: lease, state.  ARGV: token, state, ttl
CHECKPOINT = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
"""

# KEYS: lease, state, inbox [, forward state, forward inbox, active].
# ARGV: token, state or '', ttl [, forward state, forward event, forward key]
COMPLETE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
redis.call('lpop', KEYS[3])
if KEYS[4] then
  redis.call('set', KEYS[4], ARGV[4], 'NX', 'EX', ARGV[3])
  redis.call('rpush', KEYS[5], ARGV[5])
  redis.call('expire', KEYS[5], ARGV[3])
  redis.call('sadd', KEYS[6], ARGV[6])
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

# KEYS: lease, inbox, active.  ARGV: token, thread key
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

ALL = {"accept": ACCEPT, "claim": CLAIM, "next": NEXT, "checkpoint": CHECKPOINT, "complete": COMPLETE,
       "renew": RENEW, "release": RELEASE}
