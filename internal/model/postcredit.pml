/* Sends across the wire within credit (internal/wire/credit.go and
   processgroup/wire_credit.go): a member side posts its messages to a
   recipient without waiting, one FIFO byte stream each way.

   The member side counts its posts on the link (posted); its body may post
   while posted < limit, its handler at any time (a handler's send is exempt
   from the window, as in process) but counts the post too. When its body
   finds posted = limit it makes a credit call and waits for the reply, which
   raises limit. It may also make the call early, before it reaches the
   limit (one call out at a time): then the call is a try, the body goes on
   posting, and its reader takes the reply whenever it comes.

   The coordinator reads the member side's frames in order. A post: it
   refuses one from the body beyond the limit it granted (posted >= limit),
   then counts it and queues the message (out: messages queued at the
   recipient, not yet consumed) in one step, under the grants' lock. A
   credit call is served apart from the reader, which goes on reading: it
   waits until the window has room (out < W), then, under the same lock,
   grants limit = max(limit, posted + W - out) and replies; if the
   handler's posts took the room meanwhile it waits again. A try does not
   wait: with no room it replies with the limit unchanged. The recipient
   consumes at any time.

   Checked (asserts): the coordinator never refuses the honest member side,
   and a post from the body finds room in the window (out < W) when it is
   queued — what a send outside a handler waits for in process. No invalid
   end state: the body always gets its credit.
     spin -a postcredit.pml && gcc -O2 -o pan pan.c -DSAFETY && ./pan   # errors: 0
     spin -a -DUNCOUNTED postcredit.pml && ...  # neither side counts a handler's posts: errors: 1 (the window overflows)
     spin -a -DMEMBERSKIPS postcredit.pml && ... # only the coordinator counts them: errors: 1 (an honest post refused)
     spin -a -DGRANTWINDOW postcredit.pml && ... # a grant ignores what is queued: errors: 1 (the window overflows)
     spin -a -DTRYGRANTSONE postcredit.pml && ... # a try without room still gets a post: errors: 1 (the window overflows)

   ci: pan -m10000
   ci-fail: UNCOUNTED
   ci-fail: MEMBERSKIPS
   ci-fail: GRANTWINDOW
   ci-fail: TRYGRANTSONE */
#define W 2    /* the window */
#define NB 4   /* the body's posts */
#define NH 2   /* the handler's posts */

mtype = { post, credit, grant };
chan toCoord = [8] of { mtype, bool };  /* a post: from the handler; a credit call: a try */
chan toMember = [2] of { mtype, byte };

byte mposted, mlimit;     /* the member side's count and limit */
byte cposted, climit;     /* the coordinator's */
byte out;                 /* queued at the recipient, unconsumed */
bool pending;             /* a credit call waits to be served */
bool pendingTry;          /* ... and is a try */
bool asking;              /* the member side has a credit call out */

proctype Body() {
	byte i;
	do
	:: i < NB ->
		if
		:: atomic { mposted < mlimit -> mposted++; toCoord!post,false }; i++
		:: atomic { !asking -> asking = true; toCoord!credit,mposted < mlimit }  /* early: a try */
		fi
	:: i == NB -> break
	od
}

/* The member side's reader takes a grant: a call that raised nothing
   leaves the limit (a try the coordinator found no room for). */
proctype MReader() {
	byte g;
end:	do
	:: toMember?grant,g -> atomic {
		if
		:: g > mlimit -> mlimit = g
		:: else
		fi;
		asking = false }
	od
}

proctype Handler() {
	byte i;
	do
	:: i < NH -> atomic {
#if !defined(UNCOUNTED) && !defined(MEMBERSKIPS)
			mposted++;
#endif
			toCoord!post,true }; i++
	:: i == NH -> break
	od
}

proctype Reader() {
	bool h;
end:	do
	:: toCoord?post,h -> atomic {
		assert(h || cposted < climit);  /* the honest member side is never refused */
		assert(h || out < W);           /* a body's post finds room */
#ifdef UNCOUNTED
		if
		:: !h -> cposted++
		:: else
		fi;
#else
		cposted++;
#endif
		out++ }
	:: toCoord?credit,h -> atomic { pending = true; pendingTry = h }
	od
}

proctype Server() {
end:	do
	:: atomic { pending && pendingTry && out >= W -> pending = false;
#ifdef TRYGRANTSONE
		climit = cposted + 1;  /* wrong: a try with no room still gets one post */
#endif
		toMember!grant,climit }
	:: atomic { pending && out < W ->
#ifdef GRANTWINDOW
		if
		:: cposted + W > climit -> climit = cposted + W
		:: else
		fi;
#else
		if
		:: cposted + W - out > climit -> climit = cposted + W - out
		:: else
		fi;
#endif
		pending = false;
		toMember!grant,climit }
	od
}

proctype Recipient() {
end:	do
	:: atomic { out > 0 -> out-- }
	od
}

init {
	atomic {
		run Body(); run MReader(); run Handler(); run Reader(); run Server(); run Recipient()
	}
}
