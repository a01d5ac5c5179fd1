// Bouncer's AssemblyScript memory manager: a bump allocator that never frees. Evaluation
// memory is reclaimed wholesale by moving the heap pointer back (opa_heap_ptr_set /
// opa_eval's heap_ptr argument), which is how the OPA Wasm ABI works.
//
// How it is wired (scripts/build-runtime.mjs): asc only omits the shadow stack (a GC
// aid that costs ~30% speed and 32 KiB of memory) for its built-in "stub" runtime, so the
// build script compiles with `--runtime stub` and, through asc's JS API, replaces the
// library file ~lib/rt/index-stub with `import "./bouncer"` and ~lib/rt/bouncer with this
// file. Other runtime modules import it as "~lib/rt/bouncer".
//
// Every block is a 4-byte size word followed by the payload; payloads are 8-byte
// aligned. Managed objects (__new) put AssemblyScript's 16-byte object header at the
// start of the payload, so object pointers are payload + 16 (8-aligned) and the
// compiler's fixed header offsets (rtId at -8, rtSize at -4) hold.
//
// The heap starts at the larger of __heap_base and the end of what the linker appended
// (PLAN_INFO[8]); computed on first use because start code in any module may allocate.

import { OBJECT, BLOCK_OVERHEAD, OBJECT_OVERHEAD, OBJECT_MAXSIZE, BLOCK_MAXSIZE } from "~lib/rt/common";

/**
 * 16 bytes written by the linker (src/compiler/wasm/link.ts): [0] plan address,
 * [4] plan length in bytes, [8] first free address after everything the linker placed,
 * [12] magic "BNCR" when linked.
 */
export const PLAN_INFO: usize = memory.data(16, 16);

// @ts-ignore: decorator
@inline const ALIGN_MASK: usize = 7;

// @ts-ignore: decorator
@inline export function alignHeader (p: usize): usize {
  return ((p + BLOCK_OVERHEAD + ALIGN_MASK) & ~ALIGN_MASK) - BLOCK_OVERHEAD;
}

// @ts-ignore: decorator
@inline export function payloadSize (size: usize): usize {
  return (size + ALIGN_MASK) & ~ALIGN_MASK;
}

export function initialOffset (): usize {
  let start = __heap_base;
  let linked = <usize>load<u32>(PLAN_INFO, 8);
  if (linked > start) start = linked;
  return alignHeader(start);
}

// Addresses are 32-bit, but a full memory (65536 pages) ends at 2^32 and a block near its
// top can end past it: both are computed in 64 bits. In 32 bits the full memory's size was 0
// (every later allocation failed, so one evaluation that filled it broke all the following
// ones) and an end past 2^32 wrapped to a low address (the next blocks would have been placed
// over the module's data).
const ADDRESS_SPACE: u64 = 0x100000000;

@external("env", "opa_abort")
declare function abortOutOfMemory (addr: usize): void;

// The message is static: out of memory, nothing more can be allocated to build one.
const OUT_OF_MEMORY: usize = memory.data<u8>([
  0x6f, 0x75, 0x74, 0x20, 0x6f, 0x66, 0x20, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x3a, 0x20, 0x74, 0x68, 0x65, 0x20, 0x65, 0x76, 0x61, 0x6c, 0x75, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x20, 0x6e, 0x65, 0x65, 0x64, 0x73, 0x20, 0x6d, 0x6f, 0x72, 0x65, 0x20, 0x74, 0x68, 0x61, 0x6e, 0x20, 0x74, 0x68, 0x65, 0x20, 0x6d, 0x6f, 0x64, 0x75, 0x6c, 0x65, 0x27, 0x73, 0x20, 0x6d, 0x61, 0x78, 0x69, 0x6d, 0x75, 0x6d, 0x20, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x00,
]);

function outOfMemory (): void {
  abortOutOfMemory(OUT_OF_MEMORY);
  unreachable();
}

/** Makes memory reach `end` (exclusive, 64-bit); out of memory (a trap) when it cannot. */
export function ensureMemory (end: u64): void {
  // The end itself must be an address (offset 0 means "not started" to the allocator).
  if (end >= ADDRESS_SPACE) outOfMemory();
  let pages = memory.size();
  let have = <u64>pages << 16;
  if (end > have) {
    let need = <i32>((end - have + 0xffff) >> 16);
    let want = max(need, pages); // double to keep grow calls rare
    if (memory.grow(want) < 0) {
      if (memory.grow(need) < 0) outOfMemory();
    }
  }
}

/** Address of the next block header (offset + 4 is 8-aligned); 0 until first use. */
let offset: usize = 0;

/** Current heap pointer (where the next allocation starts). */
export function heapGet (): usize {
  if (offset == 0) offset = initialOffset();
  return offset;
}

/** Moves the heap pointer; everything allocated at or above `p` is discarded. */
export function heapSet (p: usize): void {
  if (<u64>p + 16 >= ADDRESS_SPACE) unreachable(); // not an address a block could start at
  let base = initialOffset();
  offset = p < base ? base : alignHeader(p);
}

/** Allocates raw bytes; the returned address is 8-aligned. */
// @ts-ignore: decorator
@unsafe @global
function __alloc(size: usize): usize {
  if (size > BLOCK_MAXSIZE) outOfMemory();
  if (offset == 0) offset = initialOffset();
  let block = offset;
  let ptr = block + BLOCK_OVERHEAD;
  let sz = payloadSize(size);
  let end = <u64>ptr + <u64>sz;
  ensureMemory(end);
  store<u32>(block, <u32>sz);
  offset = <usize>end;
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
function __realloc(ptr: usize, size: usize): usize {
  let actual = <usize>load<u32>(ptr - BLOCK_OVERHEAD);
  let isLast = ptr + actual == offset;
  let sz = payloadSize(size);
  if (isLast) {
    ensureMemory(<u64>ptr + <u64>sz);
    store<u32>(ptr - BLOCK_OVERHEAD, <u32>sz);
    offset = ptr + sz;
    return ptr;
  }
  if (sz <= actual) return ptr;
  let grown = sz > (actual << 1) ? sz : actual << 1;
  let np = __alloc(grown);
  memory.copy(np, ptr, actual);
  return np;
}

// @ts-ignore: decorator
@unsafe @global
function __free(ptr: usize): void {
  // Only the most recent block can be given back.
  let actual = <usize>load<u32>(ptr - BLOCK_OVERHEAD);
  if (ptr + actual == offset) offset = ptr - BLOCK_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
function __reset(): void {
  offset = initialOffset();
}

// @ts-ignore: decorator
@unsafe @global
function __new(size: usize, id: u32): usize {
  if (size > OBJECT_MAXSIZE) outOfMemory();
  let ptr = __alloc(OBJECT_OVERHEAD + size);
  let obj = changetype<OBJECT>(ptr - BLOCK_OVERHEAD);
  obj.gcInfo = 0;
  obj.gcInfo2 = 0;
  obj.rtId = id;
  obj.rtSize = <u32>size;
  return ptr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
function __renew(oldPtr: usize, size: usize): usize {
  if (size > OBJECT_MAXSIZE) outOfMemory();
  let np = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size);
  changetype<OBJECT>(np - BLOCK_OVERHEAD).rtSize = <u32>size;
  return np + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@global @unsafe
function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {
}

// @ts-ignore: decorator
@global @unsafe
function __pin(ptr: usize): usize {
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
function __unpin(ptr: usize): void {
}

// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void { // eslint-disable-line @typescript-eslint/no-unused-vars
}

// @ts-ignore: decorator
@global @unsafe
function __collect(): void {
}
