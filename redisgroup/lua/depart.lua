-- depart(ttl, id, kind, msg, graceful, drop): see depart in the prelude.
depart(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 'ok'
