// The C runtime every generated program carries, in sections: scenarioToC includes the core and
// the sections of the interfaces the scenario uses (and their probes).
export { RT_CORE, RT_HEADERS } from './core.js';
export { RT_DIO, RT_FILE, RT_FIXED, RT_GETREF, RT_GUP_TEST, RT_OBSERVE, RT_PIPE, RT_PROC, RT_RING, RT_TMPFILE } from './io.js';
export { RT_UFFD } from './uffd.js';
export { RT_KSM } from './ksm.js';
export { RT_PROBES, type ProbeName } from './probes.js';
