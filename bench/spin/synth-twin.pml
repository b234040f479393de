/*
 * The SPIN twin of cowlab's synthesis benchmark: the same question, asked of SPIN.
 *
 *   cowlab synth --era v6.18 --procs 2 --depth D \
 *     --ops write,read,fork,vmsplice,munmap,pipe-read,mprotect,pin,unpin
 *
 *   spin -DDEPTH=D -a synth-twin.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan
 *   (-DV4_9 for the v4.9 rules, under which the CVE-2020-29374 leak is found in 5 operations)
 *
 * What is the same as cowlab's synthesis (src/explore/synth.ts):
 * - Process p0 maps one private anonymous page and writes it (token 1); that set-up is not
 *   counted. Then any live process may perform any operation of the alphabet whose
 *   precondition holds, up to DEPTH operations in all; p0 is the only process that can fork,
 *   once (2 processes). Each operation runs whole, as one d_step, as synthesis runs it.
 * - Preconditions: write needs a writable VMA; read, vmsplice, munmap, mprotect need the VMA;
 *   pin needs the VMA and no pin held; unpin a pin held; pipe-read a pipe with buffers.
 * - The kernel rules of the era, at cowlab's level (src/kernel, src/policies/eras):
 *   v6.18 (default): do_wp_page reuses iff PageAnonExclusive or page_count == 1, and the page
 *   is marked exclusive; new and copied pages are exclusive; fork clears PG_anon_exclusive and
 *   write-protects the parent, except that an exclusive page that may be pinned (page_count >=
 *   1024) is copied for the child; pin is pin_user_pages(FOLL_LONGTERM) without FOLL_WRITE:
 *   a page that is not exclusive is unshared first (FAULT_FLAG_UNSHARE: reuse or copy, the PTE
 *   stays read-only), then page_count += 1024; mprotect to PROT_READ write-protects the PTE, back
 *   to PROT_READ|PROT_WRITE maps an exclusive page writable (can_change_pte_writable).
 *   v4.9 (-DV4_9): reuse iff page_mapcount <= 1 (reuse_swap_page); no PG_anon_exclusive; fork
 *   always shares; pin is a FOLL_GET reference (+1) with no unshare; mprotect never makes the
 *   PTE writable.
 *   Both: vmsplice takes a FOLL_GET reference (+1) held by a pipe buffer; a process's pipe is
 *   made by its first vmsplice and inherited at fork, as is a pin it holds (unpin by either
 *   releases it); pipe-read reads every buffer of the pipe and drops their references; munmap
 *   zaps the PTE and removes the VMA.
 * - The promise and the checks (src/spec/promise.ts, src/check/judge.ts): each process's
 *   memory holds one token, tokens it may see are `known`; a read must see its own memory
 *   (leak if the value is unknown to it, lost-write otherwise); a pipe buffer may show only
 *   values its splicer had there while the reference aliased it (the same classification).
 * - Symmetry: after every operation frames are renamed in the order a fixed walk meets them
 *   (the PTEs, the pins, the pipe buffers), as cowlab's --symmetry does, so states that differ
 *   only in which frames the allocator handed out are one.
 *
 * What is left out, because nothing in this alphabet can observe it (cowlab's state has it, so
 * cowlab stores more states for the same question; bench/spin/project.ts projects cowlab's
 * states onto this model's variables and the counts agree): CPU TLBs (every operation runs
 * whole, and whatever it write-protects or replaces is flushed, so no TLB entry outlives its
 * PTE); the PTE's dirty and soft-dirty bits (no FOLL_FORCE write, no soft-dirty tracking);
 * MMF_HAS_PINNED (when fork asks, a page pinned at all was pinned by p0, which set it);
 * released references and pipe buffers, stale handles, and the ids cowlab numbers pipes and
 * references with; whether a process's CPU has run yet; the pins' coherence promise (no
 * device-read in the alphabet reads through a pin); page-accounting sanity beyond the
 * assertions below. The zero page is modelled though this alphabet never maps it (a PTE goes
 * only with its VMA).
 */
#ifndef DEPTH
#define DEPTH 6
#endif
#define NPAGES (DEPTH + 3)  /* live frames: two PTEs, two pins, the pipe buffers */
#define MAXBUF DEPTH        /* every vmsplice is an operation */
#define NONE 255
#define ZERO 0              /* the shared zero page: never refcounted */
#define NOVMA 0
#define VMA_R 1
#define VMA_RW 2
#ifdef V4_9
#define PIN_REFS 1          /* no FOLL_PIN before v5.6: the pin is a FOLL_GET reference */
#else
#define PIN_REFS 1024       /* GUP_PIN_COUNTING_BIAS */
#endif
#define TOK(p, n) (2 + (p) * DEPTH + (n))
#define KNOWS(p, v) ((known[p] >> (v)) & 1)

typedef Page {
  short ref;   /* page_count */
  byte map;    /* page_mapcount */
  bool excl;   /* PG_anon_exclusive */
  byte data;   /* the token written last */
};

typedef Buf {  /* a pipe buffer: the page vmsplice referenced, and what the promise allows */
  byte pipe;   /* 1 + the pipe's slot; 0: unused */
  byte pfn;
  bit owner;   /* the process that spliced it */
  int allowed; /* tokens the owner had there while the reference aliased it */
};

Page page[NPAGES + 1];  /* page[0] stands for the zero page and stays zero */
Buf buf[MAXBUF];        /* pipe 0's buffers in order, then pipe 1's */
byte ops;               /* operations used */
bool forked;
byte vma[2];            /* NOVMA, VMA_R, VMA_RW */
byte pte[2];            /* pfn, ZERO or NONE */
bool ptew[2];           /* the PTE is writable */
byte mem[2];            /* the promise: the token the process's memory holds (NONE: unmapped) */
int known[2];           /* the promise: bit v, the process may see token v */
byte nw[2];             /* writes by the process (names the next token) */
byte fd[2];             /* the pipe the process holds (slot = its creator), or NONE */
byte hp[2];             /* the pin the process holds (slot = its creator), or NONE */
byte pin[2];            /* pin slot: the pinned pfn, or NONE */
byte nbuf[2];           /* buffers in each pipe */

hidden byte i, j, pfn, old, v;
hidden byte ren[NPAGES + 1];
hidden byte nn;
hidden Page tmp[NPAGES + 1];
hidden Buf bt;
hidden byte leak, lost, r;

inline alloc(x) {
  x = 1;
  do
  :: x <= NPAGES && page[x].ref > 0 -> x++
  :: x <= NPAGES && page[x].ref == 0 -> break
  :: x > NPAGES -> assert(false) /* out of frames */
  od
}

inline put(x, n) {
  if
  :: x != ZERO ->
     page[x].ref = page[x].ref - n;
     if
     :: page[x].ref == 0 -> assert(page[x].map == 0); page[x].excl = false; page[x].data = 0
     :: else -> assert(page[x].ref > 0)
     fi
  :: else -> skip
  fi
}

inline get(x, n) {
  if
  :: x != ZERO -> page[x].ref = page[x].ref + n
  :: else -> skip
  fi
}

/* A new anonymous page mapped once: page_add_new_anon_rmap (exclusive where the era tracks it). */
inline new_anon(x) {
  alloc(x);
  page[x].ref = 1; page[x].map = 1; page[x].data = 0;
#ifdef V4_9
  page[x].excl = false
#else
  page[x].excl = true
#endif
}

/* zap_pte_range for the process's PTE. */
inline zap(p) {
  if
  :: pte[p] != NONE && pte[p] != ZERO -> page[pte[p]].map--; put(pte[p], 1)
  :: else -> skip
  fi;
  pte[p] = NONE; ptew[p] = false
}

/* do_anonymous_page for a read: the zero page, read-only. */
inline fault_read(p) {
  if
  :: pte[p] == NONE -> pte[p] = ZERO; ptew[p] = false
  :: else -> skip
  fi
}

/* wp_page_copy: a new exclusive copy replaces the PTE's page; writable unless unsharing. */
inline wp_copy(p, w) {
  old = pte[p];
  new_anon(pfn);
  page[pfn].data = page[old].data;
  if
  :: old != ZERO -> page[old].map--; put(old, 1)
  :: else -> skip
  fi;
  pte[p] = pfn; ptew[p] = w
}

/* do_wp_page's reuse decision for the page the PTE maps (not the zero page). */
inline reuse(x, r) {
#ifdef V4_9
  r = (page[x].map <= 1)                    /* reuse_swap_page: mapcount + swapcount <= 1 */
#else
  r = (page[x].excl || page[x].ref == 1)    /* PageAnonExclusive, or page_count 1 (<= 3 first) */
#endif
}

/* A write (or, with w false, an unshare) fault on a present read-only PTE: do_wp_page. */
inline do_wp_page(p, w) {
  if
  :: pte[p] == ZERO -> wp_copy(p, w)
  :: else ->
     reuse(pte[p], r);
     if
     :: r ->
#ifndef V4_9
        page[pte[p]].excl = true;
#endif
        ptew[p] = w
     :: else -> wp_copy(p, w)
     fi;
     r = false
  fi
}

/* The promise: a write by p changes p's memory, and what p's vmsplice references may show. */
inline promise_write(p, t) {
  mem[p] = t;
  known[p] = known[p] | (1 << t);
  for (i : 0 .. MAXBUF - 1) {
    if
    :: buf[i].pipe != 0 && buf[i].owner == p -> buf[i].allowed = buf[i].allowed | (1 << t)
    :: else -> skip
    fi
  }
}

inline op_write(p) {
  if
  :: pte[p] == NONE -> new_anon(pfn); pte[p] = pfn; ptew[p] = true
  :: pte[p] != NONE && !ptew[p] -> do_wp_page(p, true)
  :: else -> skip
  fi;
  v = TOK(p, nw[p]);
  nw[p]++;
  page[pte[p]].data = v;
  promise_write(p, v)
}

inline op_read(p) {
  fault_read(p);
  v = page[pte[p]].data;
  leak = (v != mem[p] && !KNOWS(p, v));
  lost = (v != mem[p]);
  assert(!leak);
  assert(!lost)
}

/* vmsplice: get_user_pages_fast without FOLL_WRITE; the pipe buffer holds the reference. */
inline op_vmsplice(p) {
  if
  :: fd[p] == NONE -> fd[p] = p
  :: else -> skip
  fi;
  fault_read(p);
  get(pte[p], 1);
  /* Append to pipe fd[p]'s buffers, keeping pipe 0's before pipe 1's. */
  i = 0;
  do
  :: i < MAXBUF && buf[i].pipe != 0 && buf[i].pipe <= fd[p] + 1 -> i++
  :: else -> break
  od;
  assert(i < MAXBUF && buf[MAXBUF - 1].pipe == 0);
  j = MAXBUF - 1;
  do
  :: j > i -> buf[j].pipe = buf[j - 1].pipe; buf[j].pfn = buf[j - 1].pfn; buf[j].owner = buf[j - 1].owner; buf[j].allowed = buf[j - 1].allowed; j--
  :: else -> break
  od;
  buf[i].pipe = fd[p] + 1; buf[i].pfn = pte[p]; buf[i].owner = p; buf[i].allowed = 1 << mem[p];
  nbuf[fd[p]]++
}

/* read() from the pipe: every buffer's page as it is now, then the references are dropped. */
inline op_pipe_read(p) {
  i = 0; j = 0;
  do
  :: i < MAXBUF && buf[i].pipe != 0 ->
     if
     :: buf[i].pipe == fd[p] + 1 ->
        v = page[buf[i].pfn].data;
        leak = (!((buf[i].allowed >> v) & 1) && !KNOWS(p, v));
        lost = !((buf[i].allowed >> v) & 1);
        assert(!leak);
        assert(!lost);
        known[p] = known[p] | (1 << v);
        put(buf[i].pfn, 1)
     :: else ->
        buf[j].pipe = buf[i].pipe; buf[j].pfn = buf[i].pfn; buf[j].owner = buf[i].owner; buf[j].allowed = buf[i].allowed; j++
     fi;
     i++
  :: else -> break
  od;
  nbuf[fd[p]] = 0;
  do
  :: j < MAXBUF -> buf[j].pipe = 0; buf[j].pfn = 0; buf[j].owner = 0; buf[j].allowed = 0; j++
  :: else -> break
  od
}

inline op_munmap(p) {
  zap(p);
  vma[p] = NOVMA;
  mem[p] = NONE
}

/* mprotect between PROT_READ and PROT_READ|PROT_WRITE: change_protection write-protects the PTE;
 * making it writable again, can_change_pte_writable maps an exclusive anon page writable (v6.2+). */
inline op_mprotect(p) {
  if
  :: vma[p] == VMA_RW -> vma[p] = VMA_R; ptew[p] = false
  :: else ->
     vma[p] = VMA_RW;
     ptew[p] = false;
#ifndef V4_9
     if
     :: pte[p] != NONE && pte[p] != ZERO && page[pte[p]].excl -> ptew[p] = true
     :: else -> skip
     fi
#endif
  fi
}

/* pin_user_pages(FOLL_LONGTERM), read-only: a R/O pin of a page that may be shared unshares it
 * first (gup_must_unshare, v5.19/v6.2); the pin adds GUP_PIN_COUNTING_BIAS. */
inline op_pin(p) {
  fault_read(p);
#ifndef V4_9
  if
  :: pte[p] == ZERO || !page[pte[p]].excl -> assert(!ptew[p]); do_wp_page(p, false)
  :: else -> skip
  fi;
#endif
  get(pte[p], PIN_REFS);
  hp[p] = p;
  pin[p] = pte[p]
}

inline op_unpin(p) {
  v = hp[p];
  put(pin[v], PIN_REFS);
  pin[v] = NONE;
  if
  :: hp[0] == v -> hp[0] = NONE
  :: else -> skip
  fi;
  if
  :: hp[1] == v -> hp[1] = NONE
  :: else -> skip
  fi
}

/* fork by p0: copy_present_pte shares the page read-only (the parent's PTE is write-protected and
 * the page loses PG_anon_exclusive), except that an exclusive page that may be pinned is copied
 * for the child (page_try_dup_anon_rmap, v5.19+). The child inherits the pipe and the pin. */
inline op_fork() {
  forked = true;
  vma[1] = vma[0]; mem[1] = mem[0]; known[1] = known[0];
  fd[1] = fd[0]; hp[1] = hp[0];
  if
  :: pte[0] == NONE -> skip
  :: pte[0] == ZERO -> pte[1] = ZERO; ptew[1] = false
#ifndef V4_9
  :: pte[0] != NONE && pte[0] != ZERO && page[pte[0]].excl && page[pte[0]].ref >= 1024 ->
     new_anon(pfn); page[pfn].data = page[pte[0]].data;
     pte[1] = pfn; ptew[1] = (vma[1] == VMA_RW)
#endif
  :: else ->
     page[pte[0]].excl = false;
     ptew[0] = false;
     page[pte[0]].ref++; page[pte[0]].map++;
     pte[1] = pte[0]; ptew[1] = false
  fi
}

/* Symmetry: frames renamed in the order a fixed walk meets them (PTEs, pins, pipe buffers), so
 * that states differing only in which frames the allocator handed out are one state. */
inline name(x) {
  if
  :: x != NONE && x != ZERO && ren[x] == 0 -> nn++; ren[x] = nn
  :: else -> skip
  fi
}

inline rename(x) {
  if
  :: x != NONE && x != ZERO -> x = ren[x]
  :: else -> skip
  fi
}

inline canon() {
  for (i : 1 .. NPAGES) { ren[i] = 0 }
  nn = 0;
  name(pte[0]); name(pte[1]); name(pin[0]); name(pin[1]);
  for (i : 0 .. MAXBUF - 1) { name(buf[i].pfn) }
  for (i : 1 .. NPAGES) { tmp[i].ref = 0; tmp[i].map = 0; tmp[i].excl = 0; tmp[i].data = 0 }
  for (i : 1 .. NPAGES) {
    if
    :: ren[i] != 0 -> j = ren[i]; tmp[j].ref = page[i].ref; tmp[j].map = page[i].map; tmp[j].excl = page[i].excl; tmp[j].data = page[i].data
    :: else -> assert(page[i].ref == 0)
    fi
  }
  for (i : 1 .. NPAGES) { page[i].ref = tmp[i].ref; page[i].map = tmp[i].map; page[i].excl = tmp[i].excl; page[i].data = tmp[i].data }
  rename(pte[0]); rename(pte[1]); rename(pin[0]); rename(pin[1]);
  for (i : 0 .. MAXBUF - 1) { rename(buf[i].pfn) }
  i = 0; j = 0; pfn = 0; old = 0; v = 0
}

#define LIVE(p) (p == 0 || forked)
#define HOLDS(p) (hp[p] != NONE)

proctype Proc(bit p) {
end:
  do
  :: d_step { ops < DEPTH && LIVE(p) && vma[p] == VMA_RW -> ops++; printf("OP p%d write\n", p); op_write(p); canon() }
  :: d_step { ops < DEPTH && LIVE(p) && vma[p] != NOVMA -> ops++; printf("OP p%d read\n", p); op_read(p); canon() }
  :: d_step { ops < DEPTH && p == 0 && !forked -> ops++; printf("OP p%d fork\n", p); op_fork(); canon() }
  :: d_step { ops < DEPTH && LIVE(p) && vma[p] != NOVMA -> ops++; printf("OP p%d vmsplice\n", p); op_vmsplice(p); canon() }
  :: d_step { ops < DEPTH && LIVE(p) && vma[p] != NOVMA -> ops++; printf("OP p%d munmap\n", p); op_munmap(p); canon() }
  :: d_step { ops < DEPTH && LIVE(p) && fd[p] != NONE && nbuf[fd[p]] > 0 -> ops++; printf("OP p%d pipe-read\n", p); op_pipe_read(p); canon() }
  :: d_step { ops < DEPTH && LIVE(p) && vma[p] != NOVMA -> ops++; printf("OP p%d mprotect\n", p); op_mprotect(p); canon() }
  :: d_step { ops < DEPTH && LIVE(p) && vma[p] != NOVMA && !HOLDS(p) -> ops++; printf("OP p%d pin\n", p); op_pin(p); canon() }
  :: d_step { ops < DEPTH && LIVE(p) && HOLDS(p) -> ops++; printf("OP p%d unpin\n", p); op_unpin(p); canon() }
  od
}

init {
  d_step {
    vma[0] = VMA_RW;
    pte[0] = NONE; pte[1] = NONE; mem[0] = 0; mem[1] = NONE;
    fd[0] = NONE; fd[1] = NONE; hp[0] = NONE; hp[1] = NONE; pin[0] = NONE; pin[1] = NONE;
    known[0] = 1;
    /* p0's setup, not counted: mmap, then memset(mem, 1) (token 1) */
    new_anon(pfn); pte[0] = pfn; ptew[0] = true;
    page[pfn].data = 1; mem[0] = 1; known[0] = known[0] | 2;
    pfn = 0
  };
  atomic { run Proc(0); run Proc(1) }
}
