/* The ProcessingFence release rule (processgroup), as the code implements it:
   when is a round whose members all arrived quiescent, so that it may be
   released?

   Per link (sender s -> recipient r), two atomic counters:
     sent[k]       the sequence of the last message s queued on the link, raised
                   under r's inbox lane lock before the message is visible to
                   r's reader (a per-link count here: sequences increase);
     delivered[k]  raised by r's reader once the handler for that message and
                   its post-handler work returned; a message consumed without
                   a handler, or dropped because r crashed, raises it too.
   A round's watched links are those whose sender and recipient have not
   departed from it. Once every member arrived, the watcher takes the group
   lock and reads the departed set (a departure takes the same lock, so the set
   is fixed for one whole check), reads every watched link's delivered, one
   after another, then every watched link's sent, and releases iff they are
   equal link by link. (The code reads a sender that has no links yet without
   its lock, as links whose counters are all 0: a link is listed before its
   first message is queued. Here every link exists from the start.)
   Otherwise it drops the lock, waits until each link's delivered reaches the
   sent it read (in the code: armed thresholds that notify it; here a
   blocking guard), and checks again.

   N = 3 members. A handler handling a message with hops > 0 sends one with
   hops-1 to either other member, so chains cross members in every
   interleaving. A chain of H hops, 0 -> 1, is queued when the model starts,
   and member 0's run function sends one more pre-barrier message, of R hops,
   to member 1 or 2, concurrently, before it arrives (1 and 2 are in from the
   start). Member 2 may crash at any point, with CompleteForSurvivors: the
   departure takes the group lock; from then on its reader drops what it takes,
   raising delivered, and its handler sends nothing more (a send it had already
   decided still lands). Links are k = s*3+r: 1 = 0->1, 2 = 0->2, 3 = 1->0,
   5 = 1->2, 6 = 2->0, 7 = 2->1.

   Checked, with pan -DSAFETY:
   - at release, nothing the round owes is in flight on a watched link: queued,
     or taken by the reader with its delivered not yet raised (assert). Once
     member 2 departed, the round does not owe the messages member 2 sent nor
     what handlers sent while handling them ("tainted" below): the rule leaves
     the departed member's links out, so survivors may still be handling its
     last messages, and sending on because of them, at release (ALLCAUSES);
   - no invalid end state: every process ends or idles at an end label; the
     watcher, which has none, always releases. In the model as written the
     counters only grow and every new check needs one of them (or the departed
     set) to grow, so the state graph has no cycle and this is also liveness;
     the LTL run below confirms it under weak fairness.

   ci: pan -m10000
   ci-pass: NOCRASH
   ci-pass: SENTAFTER NOCRASH
   ci-fail: PERMEMBER NOCRASH
   ci-fail: NORECHECK NOCRASH
   ci-fail: PERMEMBER NORECHECK NOCRASH
   ci-fail: DEPARTRELEASE
   ci-fail: SENTAFTER
   ci-fail: ALLCAUSES

   (the ci lines are read by .ci/models: every run is
    spin -a [-DNAME ...] quiescence.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan -m10000)

     spin -a quiescence.pml && gcc -O2 -o pan pan.c -DSAFETY && ./pan -m10000
       errors: 0, 1648580 states, depth reached 190 (about 2 s, 0.5 GB)
       -DH=4: errors: 0, 6649866 states, depth reached 218 (about 11 s, 1.6 GB)
     -DNOCRASH                      no departure: errors: 0, 873670 states
     -DPERMEMBER -DNOCRASH          errors: 1 (1020 states), assertion violated
       the landed rule: member by member, under the member's stream lock, each
       out-link's sent, then its delivered, with a target where delivered <
       sent; release when a scan finds no target, else wait for the targets
       and scan again. The streams are read one after another, not as one cut:
       member 0 is scanned, then member 0's handler takes 2 -> 0 (whose sent
       member 2's scan has read), forwards on 0 -> 1 and returns; 2 -> 0 is
       delivered before member 2's scan reads its delivered. Release while
       member 1 handles the forward.
     -DNORECHECK -DNOCRASH          errors: 1 (48 states), assertion violated
       one double pass; when it is not equal, wait until delivered reaches the
       targets and release without a second look: the chain moves on after
       the pass (0 -> 1 -> 2, met targets), and member 2's forward on 2 -> 0,
       sent after the pass, is queued at release.
     -DPERMEMBER -DNORECHECK -DNOCRASH   both at once: errors: 1 (76 states)
     the same three with the crash left in fail too (errors: 1; 3085, 109 and
       128 states), on trails where member 2 departs first
     -DDEPARTRELEASE                errors: 1 (114175 states), assertion violated
       a departure while the watcher waits drops the departed member's targets
       and, when every other target is met, releases at once, without a new
       double pass (processgroup's handOver): member 1's forward on 1 -> 0,
       sent after the last pass, is queued at release.
     -DSENTAFTER                    errors: 1 (2609869 states), assertion violated
       the sender raises sent after the message is visible. Member 2 crashes
       after forwarding 2 -> 0; member 0's handler of that message queues a
       forward on 0 -> 1 and has not raised sent yet when member 0's run
       function queues its own message on 0 -> 1 and raises it; member 1 takes
       the forward: delivered and sent of 0 -> 1 are equal while the run
       function's pre-barrier message is still queued. (The model counts; with
       the code's sequence numbers the same interleaving goes wrong once the
       handler's late store puts the older sequence over the newer.)
     -DSENTAFTER -DNOCRASH          errors: 0 (1462371 states)
       without a departure the late raise is covered: whatever is visible with
       its sent not raised was sent by a handler still running, whose own
       message (or, back along the chain, the first message whose send
       completed) is counted in sent but not in delivered on a watched link,
       so no equal double pass falls while it runs. A departure hides that
       link.
     -DALLCAUSES                    errors: 1 (86846 states), assertion violated
       asserts the tainted messages too: member 0 still handles member 2's last
       message at release and forwards on 0 -> 1. The limit of
       CompleteForSurvivors, not a fault of the rule.
     spin -t -p -g quiescence.pml   # replay the trail of the last failing run

     spin -a -DLIVENESS quiescence.pml && gcc -O2 -DNFAIR=3 -o pan pan.c && ./pan -a -f -m10000
       <> released: errors: 0, 1642658 states (about 40 s)
*/

#define N   3        /* members */
#define CR  2        /* the member that may crash */
#ifndef H
#define H   3        /* hops of the chain queued at the start (0 -> 1) */
#endif
#ifndef R
#define R   1        /* hops of member 0's run function's message */
#endif
#define L   (N*N)    /* link s -> r is k = s*N+r; the diagonal is unused */
#define CAP 2        /* a chain has at most one message queued at a time */

#define SRC(k)      ((k) / N)
#define DST(k)      ((k) % N)
#define INVOLVES(k) (SRC(k) == CR || DST(k) == CR)

byte sent[L];
byte delivered[L];
byte tgt[L];               /* the watcher's targets: the sent values it waits for */
chan q[L] = [CAP] of { byte, bit };   /* per-link FIFO: hops left, tainted */

/* ghosts, for the assertion only: messages on link k queued or being handled,
   all of them and the untainted ones */
byte live[L];
byte liveU[L];

bool arrived;              /* member 0 arrived (1 and 2 are in from the start) */
bool crashed;              /* member 2 departed from the round */
bool locked;               /* the group lock */
bool waiting;              /* the watcher waits for its targets (not under the lock) */
bool released;
#ifdef PERMEMBER
bool slock[N];             /* each member's stream lock: its sends and its scan */
#endif

/* at release, nothing the round owes is in flight on a link it watches; gone:
   the departed set as read under the group lock */
#ifndef ALLCAUSES
#define OWED(k, gone) (gone -> liveU[k] : live[k])
#else
#define OWED(k, gone) (live[k])
#endif
#define QUIET1(gone) assert((gone && INVOLVES(k)) || OWED(k, gone) == 0)
inline quiet(gone, k) {
  k = 1; QUIET1(gone); k = 2; QUIET1(gone); k = 3; QUIET1(gone);
  k = 5; QUIET1(gone); k = 6; QUIET1(gone); k = 7; QUIET1(gone);
  k = 0
}

inline send(s, t, h, tn) {
#ifdef PERMEMBER
  atomic { !slock[s] -> slock[s] = true };
#endif
#ifndef SENTAFTER
  sent[s*N+t]++;
  atomic { q[s*N+t]!h,tn; live[s*N+t]++; liveU[s*N+t] = liveU[s*N+t] + 1 - tn }
#else
  atomic { q[s*N+t]!h,tn; live[s*N+t]++; liveU[s*N+t] = liveU[s*N+t] + 1 - tn };
  sent[s*N+t]++;
#endif
#ifdef PERMEMBER
  slock[s] = false
#endif
}

proctype reader(byte r) {
  byte k, h, t;
  bit tn, nt;
  bool fwd;
end:
  do
  :: atomic {
       if
       :: nempty(q[((r+1)%N)*N+r]) -> k = ((r+1)%N)*N+r
       :: nempty(q[((r+2)%N)*N+r]) -> k = ((r+2)%N)*N+r
       fi;
       q[k]?h,tn;
       /* a crashed member's reader drops the message; its handler sends nothing */
       if
       :: h > 0 && !(r == CR && crashed) ->
          fwd = true;
          nt = tn || r == CR;
          if
          :: t = (r+1) % N
          :: t = (r+2) % N
          fi
       :: else -> skip
       fi
     };
     if
     :: fwd -> send(r, t, h-1, nt)
     :: else -> skip
     fi;
     /* the handler and its post-handler work returned (or the message was dropped) */
     atomic {
       delivered[k]++;
       live[k]--;
       liveU[k] = liveU[k] + tn - 1;
       k = 0; h = 0; t = 0; tn = 0; nt = 0; fwd = false
     }
  od
}

proctype runfn() {
  /* member 0's run function: one more pre-barrier message, then Barrier */
  if
  :: send(0, 1, R, 0)
  :: send(0, 2, R, 0)
  fi;
  arrived = true
}

#define MET1(k) (INVOLVES(k) || delivered[k] >= tgt[k])
proctype crash() {
  byte k;
end:
  atomic {
    !locked && !released ->
    crashed = true;
#ifdef DEPARTRELEASE
    /* the departure drops the departed member's targets and releases the
       round at once when every other target is met */
    if
    :: waiting && MET1(1) && MET1(2) && MET1(3) && MET1(5) && MET1(6) && MET1(7) ->
       quiet(true, k);
       released = true
    :: else -> skip
    fi
#endif
  }
}

/* pass 1 and pass 2: one link's delivered, one link's sent, one atomic read each */
#define READD(k) atomic { if :: gone && INVOLVES(k) -> d[k] = 0 :: else -> d[k] = delivered[k] fi }
#define READS(k) atomic { if :: gone && INVOLVES(k) -> tgt[k] = 0 :: else -> tgt[k] = sent[k] fi }
#define SAME(k)  (d[k] == tgt[k])
/* wait until delivered reaches the target; a departure clears the targets of
   the links it involves. DEPARTRELEASE: the departure may have released it. */
#define WAIT1(k) if :: delivered[k] >= tgt[k] || (crashed && INVOLVES(k)) :: released -> goto done fi
#ifdef PERMEMBER
/* one out-link k of a member, under its stream lock: sent, then delivered */
#define SCAN1(k) \
  if \
  :: gone && INVOLVES(k) -> tgt[k] = 0 \
  :: else -> \
     tgt[k] = sent[k]; \
     if \
     :: delivered[k] < tgt[k] -> eq = false \
     :: else -> tgt[k] = 0 \
     fi \
  fi
#define SCAN(m, k1, k2) \
  if \
  :: gone && m == CR -> skip \
  :: else -> atomic { !slock[m] -> slock[m] = true }; SCAN1(k1); SCAN1(k2); slock[m] = false \
  fi
#endif

proctype watcher() {
  byte d[L];
  byte k;
  bool gone, eq;
  arrived;
again:
  atomic { !locked -> locked = true; waiting = false; gone = crashed };
#ifdef PERMEMBER
  /* member by member: a target for each out-link whose delivered < sent */
  eq = true;
  SCAN(0, 1, 2); SCAN(1, 3, 5); SCAN(2, 6, 7);
#else
  /* pass 1: every watched link's delivered, one after another */
  READD(1); READD(2); READD(3); READD(5); READD(6); READD(7);
  /* pass 2: every watched link's sent */
  READS(1); READS(2); READS(3); READS(5); READS(6); READS(7);
  d_step {
    eq = SAME(1) && SAME(2) && SAME(3) && SAME(5) && SAME(6) && SAME(7);
    d[0] = 0; d[1] = 0; d[2] = 0; d[3] = 0; d[4] = 0; d[5] = 0; d[6] = 0; d[7] = 0; d[8] = 0
  };
#endif
  if
  :: eq -> goto release
  :: else -> atomic { locked = false; waiting = true }
  fi;
  WAIT1(1); WAIT1(2); WAIT1(3); WAIT1(5); WAIT1(6); WAIT1(7);
#ifdef NORECHECK
  atomic { !locked -> locked = true; waiting = false; gone = crashed };
  goto release;
#endif
  goto again;
release:
  atomic { quiet(gone, k); released = true; locked = false };
done:
  skip
}

init {
  atomic {
    /* the pre-barrier chain: member 0 -> member 1, H hops to go */
    sent[0*N+1] = 1;
    q[0*N+1]!H,0;
    live[0*N+1] = 1;
    liveU[0*N+1] = 1;
    run reader(0); run reader(1); run reader(2);
    run runfn();
#ifndef NOCRASH
    run crash();
#endif
    run watcher()
  }
}

#ifdef LIVENESS
/* every run releases (weak fairness; pan without -DSAFETY: ./pan -a -f) */
ltl releases { <> released }
#endif
