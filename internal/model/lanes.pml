/* The inbox lanes of internal/member (lane.go; a send that can be queued at
   once appends the same way in stream.go's queueNow): senders append to their lane
   under its lock, raise the lane's ready bit when it was empty, then wake the
   reader if it announced it sleeps; the reader takes whole lanes, and before
   parking raises `sleeping` and reads the ready bits once more. A closer
   closes every lane, then publishes the stop mode; the reader exits once it
   saw the mode and found every lane empty.

   Checked: the reader never parks for good while a message waits (no invalid
   end state), and every message whose send succeeded is handled before the
   reader exits (assert).
     spin -a lanes.pml && gcc -O2 -o pan pan.c -DSAFETY && ./pan              # errors: 0
     spin -a -DLATEWAKE lanes.pml && ...   # sender reads `sleeping` before appending: errors: 1 (stall)
     spin -a -DMODEFIRST lanes.pml && ...  # closer publishes the mode before closing lanes: errors: 1

   ci: pan -m10000
   ci-fail: LATEWAKE
   ci-fail: MODEFIRST */
#define L 2          /* lanes, one sender each */
#define K 2          /* messages per sender */

byte items[L];       /* queued messages per lane */
bool ready[L];       /* lane is not empty; changed under the lane's lock */
bool closed[L];      /* lane refuses sends */
bool sleeping;
bool stopping;       /* reader mode: stop */
byte accepted;       /* sends that returned nil */
byte handled;
chan wake = [1] of { bit };

inline signal() { atomic { if :: empty(wake) -> wake!1 :: else -> skip fi } }

inline wakeReader() {
  if
  :: sleeping -> atomic { if :: sleeping -> sleeping = false; signal() :: else -> skip fi }
  :: else -> skip
  fi
}

proctype Sender(byte i) {
  byte k; bool ok;
  for (k : 1 .. K) {
#ifdef LATEWAKE
    wakeReader();                 /* wrong: looks at sleeping before the append is visible */
#endif
    atomic {                      /* lane lock */
      if
      :: closed[i] -> ok = false
      :: else -> ok = true; if :: items[i] == 0 -> ready[i] = true :: else -> skip fi; items[i]++;
                 accepted++       /* queued: the send will return nil */
      fi
    }
#ifndef LATEWAKE
    wakeReader();
#endif
  }
}

proctype Closer() {
  byte i;
#ifdef MODEFIRST
  stopping = true;                /* wrong: the reader may exit before a lane closes */
#endif
  for (i : 0 .. L-1) { atomic { closed[i] = true } }
#ifndef MODEFIRST
  stopping = true;
#endif
  signal()
}

proctype Reader() {
  byte i; bool mode; bool took;
  do
  :: mode = stopping;             /* read the mode before the lanes */
     took = false;
     for (i : 0 .. L-1) {
       atomic {                   /* lane lock: swap the whole lane out */
         if
         :: ready[i] -> handled = handled + items[i]; items[i] = 0; ready[i] = false; took = true
         :: else -> skip
         fi
       }
     }
     if
     :: handled == L*K -> break   /* everything sent was handled */
     :: else -> skip
     fi;
     if
     :: took -> skip
     :: !took && mode -> break
     :: !took && !mode ->
          sleeping = true;
          if
          :: ready[0] || ready[1] || stopping -> sleeping = false
          :: else -> wake?_; sleeping = false
          fi
     fi
  od;
  assert(handled == accepted)
}

init {
  atomic {
    run Sender(0); run Sender(1); run Reader();
#ifndef LATEWAKE
    run Closer()                  /* a close's own signal would hide a lost wake-up */
#endif
  }
}
