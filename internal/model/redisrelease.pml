/* How a redisgroup watcher learns that a round it waits on was released
   (redisgroup/feed.go, the finish step in redisgroup/lua/prelude.lua).

   The release step runs in Redis as one atomic step: it marks the round
   finished in its hash and publishes the release on the release channel,
   which Redis delivers only to the connections subscribed at that moment.
   The watcher subscribes; Redis confirms the subscription on the same
   connection, after which every publication reaches it. On each
   confirmation the watcher checks the rounds it waits on (the check step
   reads their hashes). The connection may break at any time, up to BREAKS
   times: what was in flight on it is lost and its subscription ends; the
   watcher then subscribes again on a new connection.

   Checked: once nothing can move, a round that was released was seen by the
   watcher (no lost release).

   ci: pan -m10000
   ci-fail: CHECKFIRST
   ci-fail: NOCHECK

   CHECKFIRST: the watcher checks before it subscribes — a
               release between the check and the subscription is lost.
   NOCHECK:    the watcher does not check after a confirmation — a release
               published while it was not subscribed is lost. */

#ifndef BREAKS
#define BREAKS 2
#endif

mtype = { SUBSCRIBE, CONFIRM, RELEASE };

bool finished = false;   /* the round's hash says it finished */
bool subscribed = false; /* Redis: the watcher's connection is subscribed */
bool seen = false;       /* the watcher handed the release to its waiter */
byte conn = 0;           /* the watcher's connection; a break makes a new one */

chan toRedis = [2] of { mtype, byte };   /* command, connection */
chan toWatcher = [3] of { mtype, byte }; /* reply or publication, connection */

active proctype Release() {
	atomic {
		finished = true;
		if
		:: subscribed -> toWatcher!RELEASE, conn
		:: else -> skip
		fi
	}
}

/* Redis serves the watcher's commands in order, each atomically. */
active proctype Redis() {
	byte c;
end:	do
	:: toRedis?SUBSCRIBE, c ->
		atomic {
			if
			:: c == conn -> subscribed = true; toWatcher!CONFIRM, c
			:: else -> skip /* sent on a connection that broke */
			fi
		}
	od
}

/* A break ends the connection: its subscription, and what is in flight. */
active proctype Break() {
	byte n = 0;
	mtype m;
	byte c;
	do
	:: n < BREAKS ->
		atomic {
			n++;
			subscribed = false;
			conn++;
			do
			:: toWatcher?m, c
			:: empty(toWatcher) -> break
			od
		}
	:: n == BREAKS -> break
	od
}

inline check() {
	if
	:: finished -> seen = true
	:: else -> skip
	fi
}

active proctype Watcher() {
	byte mine;
	mtype m;
	byte c;
resubscribe:
	mine = conn;
#ifdef CHECKFIRST
	check();
#endif
	toRedis!SUBSCRIBE, mine;
end:	do
	:: toWatcher?m, c ->
		if
		:: c != conn -> skip /* from a broken connection */
		:: c == conn && m == CONFIRM ->
#ifndef NOCHECK
#ifndef CHECKFIRST
			check();
#endif
#endif
			skip
		:: c == conn && m == RELEASE -> seen = true
		fi
	:: mine != conn -> goto resubscribe /* go-redis noticed the break */
	od
}

/* Once nothing can move: a released round was seen. */
active proctype Done() {
	timeout -> assert(!finished || seen)
}
