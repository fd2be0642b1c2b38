/* When a redisgroup member's delivery arrival may skip looking for delivery
   targets (redisgroup/barrier.go: flushForArrival, sentClean; the clean
   argument of redisgroup/lua/arrive.lua).

   One member sends to one recipient: its run goroutine and its handler
   each send (seq++ under the member's send lock; the message is appended in
   Redis, sent++, before the lock is released: what Arrive's flush waits
   for). The recipient's reader consumes the messages one by one, raising
   prog in Redis. The run goroutine arrives now and then: under the send
   lock it reads seq (snap) and whether snap equals cleanSeq (clean); then
   the arrive step runs in Redis atomically: unless clean, it counts the
   targets, the messages appended and not yet consumed (sent - prog). If it
   counted none, the member sets cleanSeq to max(cleanSeq, snap).

   Checked: an arrival that skips the targets owes nothing: every message
   with a seq up to its snap was consumed when the step ran (an arrival that
   counts them waits for them instead).

   ci: pan -m100000
   ci-fail: AHEAD
   ci-fail: ANYCOUNT

   AHEAD:    the mark is set one seq ahead (cleanSeq = snap + 1) — the next
             message sent is taken as consumed.
   ANYCOUNT: the mark is set whatever the arrival counted — messages still
             unconsumed at that arrival are skipped by the next one. */

#ifndef SENDS
#define SENDS 3 /* by the run goroutine; the handler sends one */
#endif
#define ARRIVALS 3

byte seq = 0;      /* the member's last seq (send lock) */
byte sent = 0;     /* Redis: messages appended on the link */
byte prog = 0;     /* Redis: messages the recipient consumed */
byte cleanSeq = 0; /* send lock: every message up to it was consumed */
bool lock = false; /* the member's send lock */

inline acquire() { atomic { !lock -> lock = true } }
inline release() { lock = false }

/* A send: a seq, and the message appended, under the send lock. */
inline send() {
	acquire();
	seq++;
	sent++; /* equal to seq: each seq is one message on this link */
	release()
}

active proctype Run() {
	byte sends = 0, arrivals = 0, snap, targets;
	bool clean;
	do
	:: sends < SENDS -> send(); sends++
	:: arrivals < ARRIVALS ->
		acquire();
		snap = seq;
		clean = (snap == cleanSeq);
		release();
		atomic { /* the arrive step */
			if
			:: clean -> targets = 0; assert(prog >= snap)
			:: else -> targets = sent - prog
			fi
		}
		acquire();
#ifdef ANYCOUNT
		if
		:: snap > cleanSeq -> cleanSeq = snap
		:: else -> skip
		fi
#else
		if
		:: targets == 0 && snap > cleanSeq ->
#ifdef AHEAD
			cleanSeq = snap + 1
#else
			cleanSeq = snap
#endif
		:: else -> skip
		fi
#endif
		release();
		arrivals++
	:: sends == SENDS && arrivals == ARRIVALS -> break
	od
}

/* The handler sends once, at any time. */
active proctype Handler() {
	send()
}

/* The recipient consumes what was appended, at its own pace. */
active proctype Reader() {
end:	do
	:: atomic { prog < sent -> prog++ }
	od
}
