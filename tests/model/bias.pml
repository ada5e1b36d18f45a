/*
 * A model of the biased claim (src/claim.c, the owner's side in
 * src/arch/fast_path_x86_64.S; docs/design.md) for the Spin model
 * checker: the owner thread's plain claim on x86-64's memory model (TSO:
 * its stores wait in a FIFO store buffer, its loads see its own latest
 * buffered store or else memory), two other threads that revoke the bias
 * and claim with compare-and-swap, and the generator body with its yield.
 * Spin explores every interleaving
 * and every moment at which the owner's buffered stores reach memory.
 *
 *   spin -a bias.pml && cc -O2 -o pan pan.c && ./pan -m100000
 *
 * Checked: never both threads in the body at once (the assertion in
 * body()), and no deadlock (an invalid end state). tests/model/run.sh runs
 * it, and broken versions of it, which must fail (run.sh lists them).
 */

#define NONE 0
#define OWNER 1     /* the owner thread's id */
#define REVOKING 2

#define CREATED 0
#define RUNNING 1
#define SUSPENDED 2
#define CLOSED 3

/* addresses */
#define A_STATE 0
#define A_OWNER 1
#define A_CLAIMING 2

#define STEPS 2     /* resumes each thread tries */
#define BUF 4       /* the owner's store buffer */

byte mem[3];
byte inside;        /* threads running the body */

/* the owner's store buffer: a FIFO of (address, value) */
byte baddr[BUF];
byte bval[BUF];
byte bhead, bcount;

/* owner: a plain store goes into the buffer */
inline o_store(a, v) {
    atomic {
        (bcount < BUF);
        baddr[(bhead + bcount) % BUF] = a;
        bval[(bhead + bcount) % BUF] = v;
        bcount++
    }
}

/* owner: a load sees its newest buffered store to a, else memory (k and
 * found are the owner's locals) */
inline o_load(a, r) {
    atomic {
        found = false;
        k = bcount;
        do
        :: k > 0 && !found ->
            k--;
            if
            :: baddr[(bhead + k) % BUF] == a -> r = bval[(bhead + k) % BUF]; found = true
            :: else -> skip
            fi
        :: else -> break
        od;
        if
        :: !found -> r = mem[a]
        :: else -> skip
        fi
    }
}

/* the buffer drains into memory, in order, whenever it likes */
proctype drain() {
end_drain:
    do
    :: atomic {
        bcount > 0 ->
        mem[baddr[bhead]] = bval[bhead];
        bhead = (bhead + 1) % BUF;
        bcount--
    }
    od
}

/* a locked instruction: waits for the buffer to drain, then is atomic */
inline o_cas_state(from, ok) {
    atomic {
        (bcount == 0);
        if
        :: mem[A_STATE] == from -> mem[A_STATE] = RUNNING; ok = true
        :: else -> ok = false
        fi
    }
}

/* the generator body: runs, then yields (its jump out publishes
 * SUSPENDED with a plain store, by whichever thread runs it) */
inline body(is_owner) {
    atomic { inside++; assert(inside == 1) };
    inside--;
    if
    :: is_owner -> o_store(A_STATE, SUSPENDED)
    :: else -> mem[A_STATE] = SUSPENDED
    fi
}

/* unbias() on the owner: nothing to do while it owns the bias; once
 * another thread is revoking, wait until it is done */
inline o_unbias() {
    o_load(A_OWNER, ow);
    do
    :: ow == REVOKING -> o_load(A_OWNER, ow)
    :: else -> break
    od
}

proctype owner() {
    byte i, ow, st, k;
    bool ok, found;
    for (i : 1 .. STEPS) {
        /* the fast path (src/arch/fast_path_x86_64.S, RESUME_CLAIM),
         * past its first check that the bias is ours (it is, until revoked:
         * a revoked owner goes to the else branch below either way) */
        o_store(A_CLAIMING, 1);
        o_load(A_OWNER, ow);
        o_load(A_STATE, st);
        if
        :: ow == OWNER && st == SUSPENDED ->
            o_store(A_STATE, RUNNING);
            o_store(A_CLAIMING, 0);
            body(true)
        :: else ->
            o_store(A_CLAIMING, 0);   /* CLAIM_COLD */
            o_load(A_OWNER, ow);
            if
            :: ow == NONE ->
                o_cas_state(SUSPENDED, ok);   /* the inline compare-and-swap */
                if
                :: ok -> body(true)
                :: else -> skip                /* busy, or closed */
                fi
            :: else ->
                o_unbias();                    /* the C path: unbias, then CAS */
                o_cas_state(SUSPENDED, ok);
                if
                :: ok -> body(true)
                :: else -> skip
                fi
            fi
        fi
    }
}

/* another thread: its accesses are ordered (the revocation's
 * compare-and-swap and membarrier are full barriers, its claim is a locked
 * compare-and-swap), so they act on memory directly */
proctype other() {
    byte i;
    for (i : 1 .. STEPS) {
        /* the fast path: this thread does not own the bias, so it goes out
         * of line without touching claiming (with -DFOREIGN_ANNOUNCE, as
         * the first version did: announce, find another owner, clear) */
#ifdef FOREIGN_ANNOUNCE
        mem[A_CLAIMING] = 1;
        mem[A_CLAIMING] = 0;
#endif
        /* CLAIM_COLD: nobody's bias -> the inline compare-and-swap; else
         * the C path: unbias(), then the compare-and-swap */
        if
        :: atomic { mem[A_OWNER] == OWNER -> mem[A_OWNER] = REVOKING } ->
#ifndef NO_MEMBARRIER
            /* membarrier(): every running thread of the process executes a
             * full barrier: the owner's buffer reaches memory, at a moment
             * of its own choosing between this call's start and end */
            (bcount == 0);
#endif
            (mem[A_CLAIMING] == 0);          /* wait while claiming */
            mem[A_OWNER] = NONE
        :: atomic { mem[A_OWNER] == REVOKING } -> (mem[A_OWNER] == NONE)
        :: else -> skip
        fi;
        /* claim() */
        if
        :: atomic { mem[A_STATE] == SUSPENDED -> mem[A_STATE] = RUNNING } -> body(false)
        :: else -> skip                       /* busy: "generator already executing" */
        fi
    }
}

init {
    /* a created, started, suspended generator biased to its owner */
    atomic {
        mem[A_STATE] = SUSPENDED;
        mem[A_OWNER] = OWNER;
        mem[A_CLAIMING] = 0;
        run drain();
        run owner();
        run other();   /* two other threads: one revokes, the other */
        run other()    /* waits for it, or both race to claim */
    }
}
