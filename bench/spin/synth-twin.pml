/*
 * cowlab's SPIN anchor: the fork/vmsplice/munmap problem (CVE-2020-29374) as a small Promela
 * model, for comparing SPIN's speed and memory per stored state with cowlab's explorer on a
 * problem of the same kind. Not a model of the kernel: one page-sized mapping per process,
 * whole operations as atomic steps, no TLBs, no pins.
 *
 * Two processes; p0 maps a page and writes it, then either process performs operations from
 * {write, read, fork, vmsplice, pipe-read, munmap} up to DEPTH in all. do_wp_page() reuses a
 * page when page_mapcount is 1 (v4.9, the rule of the CVE) or, with -DPAGE_COUNT, when
 * page_count is 1 (09854ba94c6a, v5.9). The assertion is the leak invariant: a process (or its
 * pipe) reads only values its own memory held.
 *
 *   spin -a fork-vmsplice.pml && gcc -O2 -DSAFETY -DPAGE_COUNT -o pan pan.c && ./pan
 */
#ifndef DEPTH
#define DEPTH 7
#endif
#define NPAGES 6
#define NONE 255

typedef Page {
  byte ref;   /* page_count */
  byte map;   /* page_mapcount */
  byte data;  /* the value written last */
};

Page page[NPAGES];
byte pte[2];       /* pfn mapped at the page, or NONE */
bool ptew[2];      /* the PTE is writable */
bool vma[2];       /* the mapping exists */
bool alive[2];
byte pipe_pfn = NONE; /* the page a pipe buffer holds (vmsplice), and the splicer */
byte splicer;
int known[2];      /* bit v: the process's memory held value v */
byte writes[2];
byte ops;

inline alloc(pfn) {
  pfn = 0;
  do
  :: pfn < NPAGES && page[pfn].ref > 0 -> pfn++
  :: pfn < NPAGES && page[pfn].ref == 0 -> break
  :: pfn == NPAGES -> assert(false) /* out of frames */
  od
}

inline put(pfn) {
  page[pfn].ref--;
  if
  :: page[pfn].ref == 0 -> page[pfn].data = 0; page[pfn].map = 0
  :: else -> skip
  fi
}

inline check(p, v) {
  assert(known[p] & (1 << v))
}

inline do_write(p, pfn, old, v) {
  if
  :: pte[p] == NONE -> alloc(pfn); page[pfn].ref = 1; page[pfn].map = 1; pte[p] = pfn; ptew[p] = true
  :: else -> pfn = pte[p]
  fi;
  if
  :: !ptew[p] ->
#ifdef PAGE_COUNT
     if
     :: page[pfn].ref == 1 -> ptew[p] = true
#else
     if
     :: page[pfn].map == 1 -> ptew[p] = true
#endif
     :: else -> /* wp_page_copy */
        old = pfn; alloc(pfn);
        page[pfn].ref = 1; page[pfn].map = 1; page[pfn].data = page[old].data;
        page[old].map--; put(old);
        pte[p] = pfn; ptew[p] = true
     fi
  :: else -> skip
  fi;
  v = 1 + 3 * p + writes[p];
  writes[p]++;
  page[pfn].data = v;
  known[p] = known[p] | (1 << v)
}

proctype Proc(byte p) {
  byte pfn, old, v;
  /* A process with nothing left to do waits here: a valid end state. */
end:
  do
  :: atomic { alive[p] && ops < DEPTH && vma[p] -> ops++; do_write(p, pfn, old, v) }
  :: atomic { alive[p] && ops < DEPTH && vma[p] && pte[p] != NONE -> ops++; check(p, page[pte[p]].data) }
  :: atomic { p == 0 && !alive[1] && ops < DEPTH -> ops++;
       alive[1] = true; vma[1] = vma[0]; known[1] = known[0];
       if
       :: pte[0] != NONE -> pte[1] = pte[0]; ptew[0] = false; ptew[1] = false;
          page[pte[0]].ref++; page[pte[0]].map++
       :: else -> skip
       fi;
       run Proc(1) }
  :: atomic { alive[p] && ops < DEPTH && vma[p] && pte[p] != NONE && pipe_pfn == NONE -> ops++;
       pipe_pfn = pte[p]; splicer = p; page[pipe_pfn].ref++ }
  :: atomic { ops < DEPTH && pipe_pfn != NONE && splicer == p && alive[p] -> ops++;
       check(p, page[pipe_pfn].data); put(pipe_pfn); pipe_pfn = NONE }
  :: atomic { alive[p] && ops < DEPTH && vma[p] -> ops++;
       if
       :: pte[p] != NONE -> pfn = pte[p]; page[pfn].map--; put(pfn); pte[p] = NONE
       :: else -> skip
       fi;
       vma[p] = false }
  od
}

init {
  byte pfn, old, v;
  atomic {
    pte[0] = NONE; pte[1] = NONE;
    vma[0] = true; alive[0] = true; known[0] = 1;
    do_write(0, pfn, old, v);
    run Proc(0)
  }
}
