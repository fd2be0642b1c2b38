/* The window of internal/member (window.go, reader.go): a sender whose window
   at a recipient is full (sent - delivered >= W) waits for credit. Under the
   link's credit lock it takes the current wake channel (making one if there
   is none) and counts itself a waiter, then arms its threshold on the link's
   counter (ArmCredit: a store) and only then reads delivered (a load); if the
   threshold is met it retries at once, else it waits for the channel to be
   closed. The reader stores delivered for every message it consumed, then
   loads the threshold (CreditDue) and, if it crossed it, claims it (CAS to
   None) and closes the channel under the lock. The last waiter to leave
   disarms.

   Checked: the sender never waits for good while the reader could make room
   (no invalid end state), and it never has more than W messages unconsumed
   (assert).
     spin -a credit.pml && gcc -O2 -o pan pan.c -DSAFETY && ./pan       # errors: 0
     spin -a -DREADFIRST credit.pml && ...  # reads delivered before arming: errors: 1 (lost wakeup)

   ci: pan -m10000
   ci-fail: READFIRST */
#define W 2          /* the window */
#define N 5          /* messages sent */
#define NONE 255

byte sent;           /* the link's sent: the sender's */
byte delivered;      /* the counter's delivered: the reader's store */
byte credit = NONE;  /* the counter's credit threshold */
bool live;           /* a wake channel exists */
byte gen;            /* the current wake channel's number */
byte closedGen;      /* every channel up to this number is closed */
byte waiters;

active proctype sender() {
	byte at, mine;
	do
	:: sent == N -> break
	:: sent < N ->
		if
		:: sent - delivered < W ->
			sent++;
			assert(sent - delivered <= W)
		:: else ->
			at = sent - W + 1;   /* max(1, W/2) = 1 for W = 2 */
			atomic {             /* under the credit lock */
				if
				:: !live -> live = true; gen++
				:: else -> skip
				fi;
				mine = gen;
				waiters++
			}
#ifdef READFIRST
			if
			:: delivered >= at -> goto leave
			:: else -> skip
			fi;
			atomic { if :: at < credit -> credit = at :: else -> skip fi };
#else
			atomic { if :: at < credit -> credit = at :: else -> skip fi };   /* ArmCredit */
			if
			:: delivered >= at -> goto leave   /* consumed before the arm */
			:: else -> skip
			fi;
#endif
			closedGen >= mine;   /* wait for the channel to be closed */
leave:
			atomic {
				waiters--;
				if
				:: waiters == 0 -> credit = NONE   /* DisarmCredit */
				:: else -> skip
				fi
			}
		fi
	od
}

active proctype reader() {
	byte t;
	do
	:: delivered == N -> break
	:: delivered < sent ->
		delivered++;           /* Publish: store */
		t = credit;            /* CreditDue: load, */
		if
		:: delivered >= t ->
			atomic {           /* then claim it (CAS) */
				if
				:: credit == t -> credit = NONE
				:: else -> goto next
				fi
			};
			atomic {           /* grantCredit, under the lock */
				if
				:: live -> closedGen = gen; live = false
				:: else -> skip
				fi
			}
		:: else -> skip
		fi;
next:		skip
	od
}
