/**
 * coroutine.create, coroutine.resume and coroutine.wrap as Lua 5.4's
 * lcorolib.c has them, with two changes for time slicing (runner.ts):
 *
 * - A new coroutine gets the count hook at once. The run's own thread is
 *   hooked only once the run has gone on a while (watchdog.ts), and a
 *   coroutine made before that would not inherit the hook: a loop in it
 *   could never be stopped.
 * - When the hook yields a coroutine for a time slice, resume and wrap pass
 *   the slice up (their own thread yields, up to the run's thread, which the
 *   runner suspends) and resume the coroutine again once the run goes on:
 *   the script sees its coroutine carry on, not a yield it never made.
 *
 * They are C functions, as the originals are, so a tail call to them keeps
 * the caller's frame: error positions (luaL_where) are the originals'.
 */
import { LuaStatus, LuaType, upvalueIndex, type LuaState, type LuaVm } from './vm/lua-vm.js';

/** What the runner provides: the hook a new coroutine gets, and which thread the hook last yielded for a slice. */
export interface SliceHost {
  hookThread(vm: LuaVm, co: LuaState): void;
  /** Whether co's last yield was the hook's (and forgets it). */
  takeSliced(co: LuaState): boolean;
  /** L is about to yield to pass a coroutine's slice up. */
  markSliced(L: LuaState): void;
}

let host: SliceHost;

function create(vm: LuaVm, L: LuaState): number {
  vm.checkType(L, 1, LuaType.FUNCTION);
  const co = vm.newThread(L);
  vm.pushValue(L, 1);
  vm.xmove(L, co, 1);
  host.hookThread(vm, co);
  return 1;
}

/** auxresume's answer when a time slice is to be passed up. */
const SLICED = -2;

/**
 * lcorolib's auxresume: the values co yielded or returned are moved on top
 * of L (returns how many), or its error (returns -1). A time slice is not a
 * result: SLICED says the caller is to pass it up (yield L, and resume co
 * again when L goes on), or co is resumed again at once when L cannot yield.
 */
function auxresume(vm: LuaVm, L: LuaState, co: LuaState, narg: number): number {
  if (!vm.checkStack(co, narg)) {
    vm.pushString(L, 'too many arguments to resume');
    return -1;
  }
  vm.xmove(L, co, narg);
  for (;;) {
    const { status, nresults } = vm.resume(co, L, narg);
    if (status === LuaStatus.YIELD && host.takeSliced(co)) {
      // (A hook's yield carries no values: nothing to take off co.)
      if (vm.isYieldable(L)) {
        host.markSliced(L);
        return SLICED;
      }
      narg = 0;
      continue;
    }
    if (status === LuaStatus.OK || status === LuaStatus.YIELD) {
      if (!vm.checkStack(L, nresults + 1)) {
        vm.pop(co, nresults);
        vm.pushString(L, 'too many results to resume');
        return -1;
      }
      vm.xmove(co, L, nresults);
      return nresults;
    }
    vm.xmove(co, L, 1);
    return -1;
  }
}


function resumeResult(vm: LuaVm, L: LuaState, r: number): number {
  if (r < 0) {
    vm.pushBoolean(L, false);
    vm.insert(L, -2);
    return 2;
  }
  vm.pushBoolean(L, true);
  vm.insert(L, -(r + 1));
  return r + 1;
}

function resume(vm: LuaVm, L: LuaState): number {
  vm.checkType(L, 1, LuaType.THREAD);
  return resumeFrom(vm, L, vm.getTop(L) - 1);
}

/** Resumes the coroutine at index 1 with the narg values above it; after a slice passed up, again with none. */
function resumeFrom(vm: LuaVm, L: LuaState, narg: number): number {
  const r = auxresume(vm, L, vm.toThread(L, 1), narg);
  if (r !== SLICED) return resumeResult(vm, L, r);
  vm.setTop(L, 1);
  return vm.yieldTo(L, resumeAgain);
}

function resumeAgain(vm: LuaVm, L: LuaState): number {
  return resumeFrom(vm, L, 0);
}

/** lcorolib's auxwrap: the coroutine is the closure's upvalue. */
function wrapped(vm: LuaVm, L: LuaState): number {
  return wrappedFrom(vm, L, vm.getTop(L));
}

function wrappedFrom(vm: LuaVm, L: LuaState, narg: number): number {
  const co = vm.toThread(L, upvalueIndex(1));
  const r = auxresume(vm, L, co, narg);
  if (r !== SLICED) return wrapResult(vm, L, co, r);
  vm.setTop(L, 0);
  return vm.yieldTo(L, wrappedAgain);
}

function wrappedAgain(vm: LuaVm, L: LuaState): number {
  return wrappedFrom(vm, L, 0);
}

function wrapResult(vm: LuaVm, L: LuaState, co: LuaState, r: number): number {
  if (r >= 0) return r;
  // An error: goes on to the caller, a string one with the caller's position in front.
  const status = vm.status(co);
  if (status !== LuaStatus.OK && status !== LuaStatus.YIELD) {
    vm.resetThread(co); // closes its to-be-closed variables
    vm.setTop(co, 0);
  }
  if (status !== LuaStatus.ERRMEM && vm.type(L, -1) === LuaType.STRING) {
    vm.pushWhere(L, 1);
    vm.insert(L, -2);
    vm.concat(L, 2);
  }
  return vm.raiseValue(L);
}

function wrap(vm: LuaVm, L: LuaState): number {
  create(vm, L);
  vm.pushFunction(L, wrapped, 1);
  return 1;
}

/** Replaces create, resume and wrap in the state's coroutine table. */
export function installCoroutines(vm: LuaVm, sliceHost: SliceHost): void {
  host = sliceHost;
  const L = vm.L;
  vm.getGlobal(L, 'coroutine');
  for (const [name, fn] of [
    ['create', create],
    ['resume', resume],
    ['wrap', wrap],
  ] as const) {
    vm.pushFunction(L, fn);
    vm.setField(L, -2, name);
  }
  vm.pop(L);
}
