/* Progress across the wire (internal/wire/progress.go, remote.go, and
   internal/member/forwarded.go): a member side's progress reaches the
   coordinator only in reports, over one FIFO byte stream each way.

   The coordinator forwards N deliveries without waiting for them, and a
   waiter on its side (a drain target, a sender waiting for room, a local
   fence) wants the WANT-th handled: it comes at any time once that message
   was forwarded (a round drains long after its messages went out), and the
   coordinator then arms the member side at WANT. It counts what reports say
   (acked) and releases the waiter once acked >= WANT. It refuses a report
   that goes back, goes beyond what it forwarded, or does not advance.

   The member side: a reader takes frames in order — a delivery joins the
   handler's queue; an arm stores the threshold, then loads the count and,
   if it is met, claims the threshold (compare and swap to 0) and reports.
   The handler goroutine takes everything queued as one batch, and for each
   message raises the count (a store), then loads the threshold and, if it
   crossed it, claims and reports; after the batch it reports. A report
   reads the count and sends it under a lock, only if it is more than the
   last one sent. The handler of message STUCK never returns. While a batch
   takes long a timer reports too (internal/wire/late.go): it may fire at
   any time, here once.

   Either side may crash at any time: the other reads the end of the stream.
   The coordinator then drops what was not reported and releases the waiter
   with an error; the member side exits (its lifeline), whatever its handler
   is doing.

   Checked: no report claims more than was handled, reports only advance
   (asserts); the waiter is always released unless the coordinator crashed
   (assert, and no invalid end state: a coordinator waiting for good for a
   report is one), and the member side always ends once the coordinator is
   gone.
     spin -a farprogress.pml && gcc -O2 -o pan pan.c -DSAFETY && ./pan -m100000   # errors: 0
     spin -a -DNOCHECK farprogress.pml && ...   # the arm does not look at the count: errors: 1 (a stuck handler hides progress for good)
     spin -a -DNOLOCK -DSTUCK=0 farprogress.pml && ...  # reports are not serialized: errors: 1 (a report goes back)
     spin -a -DEARLY farprogress.pml && ...     # the count is raised before the handler returns: errors: 1

   ci: pan -m100000
   ci-pass: STUCK=0
   ci-pass: NOCRASH
   ci-fail: NOCHECK NOCRASH
   ci-fail: NOLOCK NOCRASH STUCK=0
   ci-fail: EARLY NOCRASH */
#define N 3
#define WANT 1
#ifndef STUCK
#define STUCK 2
#endif

mtype = { deliver, arm, handled, eos };
chan toMember = [8] of { mtype, byte, bool };
chan toCoord = [8] of { mtype, byte, bool };

/* the member side */
byte count;        /* messages whose handler returned */
byte returned;     /* the same, as the model sees it: for the asserts */
byte armed;        /* 0: none */
byte queued;       /* delivered, not yet taken by the handler */
byte reported;     /* the last count sent, under rlock */
bool rlock;
bool memberDown;   /* it crashed */
bool lifeline;     /* it saw the coordinator gone */

/* the coordinator */
byte acked;
bool released;
bool coordDown;

inline report() {
	atomic { !rlock -> rlock = true };
	n = count;
	if
	:: n > reported -> reported = n;
#ifdef NOLOCK
		rlock = false;
#endif
		toCoord!handled(n, false)
	:: else -> skip
	fi;
	rlock = false
}

/* claim the threshold thr once the count cnt reached it, and report */
inline crossed(thr, cnt) {
	if
	:: thr != 0 && cnt >= thr ->
		atomic {
			if
			:: armed == thr -> armed = 0; claim = true
			:: else -> claim = false
			fi
		};
		if
		:: claim -> report()
		:: else -> skip
		fi
	:: else -> skip
	fi
}

proctype handler() {
	byte batch, t, n, m;
	bool claim;
	{
end:	do
		:: queued > 0 ->
			atomic { batch = queued; queued = 0 };
			do
			:: batch == 0 -> break
			:: batch > 0 ->
				batch--;
				if
				:: count + 1 == STUCK ->
end_stuck:			false   /* its handler never returns */
				:: else -> skip
				fi;
#ifdef EARLY
				m = count + 1; count = m;      /* raised before the handler returned */
				returned++;
#else
				returned++;                     /* the handler returned, */
				m = count + 1; count = m;      /* then the count is raised (a store) */
#endif
				t = armed;                      /* and the threshold loaded */
				crossed(t, m)
			od;
			report()
		od
	} unless { memberDown || lifeline }
}

proctype reader() {
	byte k, n, t;
	bool b, claim;
	{
end:	do
		:: toMember?deliver(k, b) -> queued++
		:: toMember?arm(k, b) ->
			armed = k;                          /* store the threshold, */
#ifndef NOCHECK
			t = count;                          /* then load the count */
			crossed(k, t)
#endif
		:: toMember?eos(k, b) -> lifeline = true; break
		od
	} unless { memberDown }
}

/* the timer that reports a long batch's progress */
proctype timer() {
	byte n, fired;
	{
end:	do
		:: fired < 1 -> fired++; report()
		od
	} unless { memberDown || lifeline }
}

active proctype member() {
	run handler();
	run reader();
	run timer();
#ifndef NOCRASH
	if
	:: true -> skip
	:: true -> memberDown = true; toCoord!eos(0, false)   /* it crashes */
	fi
#endif
}

active proctype coordinator() {
	byte sent, c;
	bool drop, armedAt;
	{
		do
		:: sent < N ->
			sent++;
			toMember!deliver(sent, false)
		:: sent >= WANT && !armedAt ->   /* a waiter comes, at once or later: arm */
			armedAt = true;
			toMember!arm(WANT, false)
		:: toCoord?handled(c, drop) ->
			assert(c <= returned);                   /* never more than was handled */
			assert(c > acked && c <= sent);          /* reports only advance */
			acked = c;
			if
			:: acked >= WANT -> released = true
			:: else -> skip
			fi
		:: toCoord?eos(c, drop) -> released = true; break   /* lost: the rest is dropped, the waiter fails */
		:: released && sent == N && armedAt -> break
#ifndef NOCRASH
		:: coordDown = true; break   /* it crashes */
#endif
		od
	};
	assert(released || coordDown);
	toMember!eos(0, false)   /* the end of its stream, by Close or by its death */
}

