// A safe reader of the Python pickles Python LangChain's FAISS.save_local writes
// (index.pkl: `pickle.dump((docstore, index_to_docstore_id), f)`). It is not an
// unpickler: it runs no Python and calls nothing. It reads the binary opcodes
// (protocols 2 to 5) that such a file holds into plain values, where a class is
// only its name (PickleGlobal) and an object only its class, arguments and state
// (PickleObject), and refuses every other opcode (REDUCE, which calls a callable,
// first of all), and every class name but the caller's, with ERR_INVALID_ARGUMENT
// naming it and its offset. What those classes stand for is
// python-faiss-store.ts's business.
//
// Bounded by the input: each value pushed costs at least one byte read, a length
// is checked against the bytes left before anything is allocated, and the memo is
// a Map (a hostile index allocates nothing). Values may share parts or be cyclic
// (the memo allows both); python-faiss-store.ts converts them with a budget.
import { FaissError } from '../errors';

/** A class or function named by the pickle (GLOBAL, STACK_GLOBAL): never resolved, only compared by name. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** `cls.__new__(cls, *args)` (NEWOBJ, NEWOBJ_EX) and the state BUILD gave it: nothing is constructed. */
export class PickleObject {
  state: PickleValue | undefined = undefined;
  constructor(
    readonly cls: PickleGlobal,
    readonly args: readonly PickleValue[],
  ) {}
}

/** A Python tuple (immutable; a list is a JS array). */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python set or frozenset. */
export class PickleSet {
  constructor(readonly items: PickleValue[]) {}
}

/** Keys a Python dict may have here (str, int, float, bool, None). */
export type PickleKey = string | number | boolean | null;

export type PickleValue = null | boolean | number | string | PickleValue[] | PickleTuple | PickleSet | Map<PickleKey, PickleValue> | PickleGlobal | PickleObject;

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

/** Python's int is unbounded: one wider than JS numbers hold exactly is refused rather than rounded. */
const MAX_LONG_BYTES = 8;

export interface PickleReading {
  /** The file, for messages. */
  file: string;
  /** The classes the pickle may name, as "module.name". */
  globals: ReadonlySet<string>;
}

/** The value the pickle in `bytes` holds, read as described above. */
export function readPickle(bytes: Uint8Array, o: PickleReading): PickleValue {
  const refused = (offset: number, what: string): FaissError =>
    new FaissError(`${o.file} is not a pickle this importer reads: ${what} (byte ${offset})`, 'ERR_INVALID_ARGUMENT');
  const named = (module: string, name: string): PickleGlobal => {
    const g = new PickleGlobal(module, name);
    if (!o.globals.has(g.qualifiedName)) throw refused(opAt, `the class ${g.qualifiedName}, not one such a file holds (${[...o.globals].join(', ')})`);
    return g;
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  let opAt = 0;

  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || n > bytes.length - at) throw refused(opAt, `a length of ${n} bytes runs past the end of the file`);
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const start = need(8);
    const high = view.getUint32(start + 4, true);
    // A length of 2^53 or more cannot be the file's: need() refuses it as one past the end.
    return high >= 2 ** 21 ? Infinity : high * 2 ** 32 + view.getUint32(start, true);
  };
  const text = (n: number): string => {
    const start = need(n);
    try {
      return utf8.decode(bytes.subarray(start, start + n));
    } catch {
      throw refused(opAt, 'a string that is not UTF-8');
    }
  };
  const pop = (): PickleValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length === marks[marks.length - 1])) throw refused(opAt, 'an opcode with too few values before it');
    return stack.pop() as PickleValue;
  };
  const top = (): PickleValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length === marks[marks.length - 1])) throw refused(opAt, 'an opcode with no value before it');
    return stack[stack.length - 1] as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const from = marks.pop();
    if (from === undefined) throw refused(opAt, 'an opcode that needs a MARK without one');
    return stack.splice(from) as PickleValue[];
  };
  const long = (n: number): number => {
    if (n > MAX_LONG_BYTES) throw refused(opAt, `an integer of ${n} bytes`);
    const start = need(n);
    let x = 0n;
    for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[start + i]);
    if (n > 0 && bytes[start + n - 1] >= 0x80) x -= 1n << BigInt(8 * n);
    if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < BigInt(Number.MIN_SAFE_INTEGER)) throw refused(opAt, `the integer ${x}, beyond 2^53`);
    return Number(x);
  };
  const key = (v: PickleValue): PickleKey => {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    throw refused(opAt, 'a dict key that is not a str, int, float, bool or None');
  };
  const dictAt = (v: PickleValue): Map<PickleKey, PickleValue> => {
    if (!(v instanceof Map)) throw refused(opAt, 'SETITEM(S) on a value that is not a dict');
    return v;
  };
  const globalOf = (v: PickleValue): PickleGlobal => {
    if (!(v instanceof PickleGlobal)) throw refused(opAt, 'NEWOBJ on a value that is not a class');
    return v;
  };
  const tupleItems = (v: PickleValue): readonly PickleValue[] => {
    if (!(v instanceof PickleTuple)) throw refused(opAt, 'NEWOBJ with arguments that are not a tuple');
    return v.items;
  };

  if (bytes.length < 2 || bytes[0] !== 0x80) throw refused(0, 'no PROTO opcode first (a protocol 0 or 1 pickle, or not a pickle)');
  for (;;) {
    opAt = at;
    if (at >= bytes.length) throw refused(at, 'the file ends before STOP');
    const op = bytes[at++];
    switch (op) {
      case 0x80: {
        const protocol = u8();
        if (protocol < 2 || protocol > 5) throw refused(opAt, `protocol ${protocol}`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: {
        // STOP
        if (stack.length !== 1 || marks.length !== 0) throw refused(opAt, 'STOP with other than one value');
        return stack[0] as PickleValue;
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: {
        // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0) throw refused(opAt, 'LONG4 of a negative length');
        stack.push(long(n));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) throw refused(opAt, `a memo entry ${i} that was never stored`);
        stack.push(memo.get(i) as PickleValue);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(new PickleTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PickleTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PickleTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PickleTuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PickleTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) throw refused(opAt, 'APPEND to a value that is not a list');
        list.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw refused(opAt, 'APPENDS to a value that is not a list');
        for (const v of items) list.push(v);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = key(pop());
        dictAt(top()).set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) throw refused(opAt, 'SETITEMS with a key and no value');
        const dict = dictAt(top());
        for (let i = 0; i < items.length; i += 2) dict.set(key(items[i]), items[i + 1]);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new PickleSet([]));
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof PickleSet)) throw refused(opAt, 'ADDITEMS to a value that is not a set');
        for (const v of items) set.items.push(v);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new PickleSet(popMark()));
        break;
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw refused(opAt, 'STACK_GLOBAL of values that are not strings');
        stack.push(named(module, name));
        break;
      }
      case 0x63: {
        // GLOBAL: "module\nname\n" (protocols 2 and 3)
        const line = (): string => {
          const end = bytes.indexOf(0x0a, at);
          if (end < 0) throw refused(opAt, 'GLOBAL without its line end');
          return text(end - at + 1).slice(0, -1);
        };
        const module = line();
        stack.push(named(module, line()));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = tupleItems(pop());
        stack.push(new PickleObject(globalOf(pop()), args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        if (!(kwargs instanceof Map) || kwargs.size !== 0) throw refused(opAt, 'NEWOBJ_EX with keyword arguments');
        const args = tupleItems(pop());
        stack.push(new PickleObject(globalOf(pop()), args));
        break;
      }
      case 0x62: {
        // BUILD: the state is kept, nothing is called
        const state = pop();
        const obj = top();
        if (!(obj instanceof PickleObject) || obj.state !== undefined) throw refused(opAt, 'BUILD on a value that is not a new object');
        obj.state = state;
        break;
      }
      case 0x52:
        throw refused(opAt, 'REDUCE (a call of a Python callable), which is never made');
      default:
        throw refused(opAt, `opcode 0x${op.toString(16).padStart(2, '0')}, which such a file does not hold`);
    }
  }
}
