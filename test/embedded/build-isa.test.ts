// Which instruction set the build uses: scripts/build-faiss.sh picks the best level the
// CPU's flags allow, each level enabling only the extensions FAISS's avx2 code and the
// addon's kernels need (not -march=x86-64-v3's BMI, LZCNT and MOVBE, which some
// hypervisors hide), and the built code uses no extension its faiss-build-info.json
// does not list, the list the loader checks the CPU against (lib/addon-cpu.ts).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readAddonBuildInfo } from '../../lib/addon-cpu';
import { addonCandidates } from '../../lib/native';

const ROOT = path.resolve(__dirname, '..', '..', '..');

// /proc/cpuinfo flags lines. This project's VM: AMD Zen 4 with AVX-512, its hypervisor
// hiding abm (LZCNT).
const VM_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx ' +
  'mmxext lm constant_tsc rep_good nopl xtopology tsc_reliable nonstop_tsc cpuid extd_apicid tsc_known_freq pni ' +
  'pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand ' +
  'hypervisor lahf_lm cr8_legacy misalignsse 3dnowprefetch topoext pti vmmcall bmi1 avx2 bmi2 erms avx512f ' +
  'avx512dq adx avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 avx_vnni ' +
  'avx512_bf16 clzero xsaveerptr arat avx512vbmi avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg ' +
  'avx512_vpopcntdq movdiri movdir64b fsrm avx512_vp2intersect';
const without = (line: string, ...flags: string[]) =>
  line
    .split(' ')
    .filter((f) => !flags.includes(f))
    .join(' ');
// Intel Haswell: x86-64-v3 complete, no AVX-512.
const HASWELL_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall ' +
  'nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 ' +
  'x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm invpcid_single pti fsgsbase bmi1 avx2 ' +
  'smep bmi2 erms invpcid xsaveopt arat';
// Intel Sandy Bridge: AVX without AVX2 or FMA.
const SANDY_BRIDGE_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx ' +
  'rdtscp lm constant_tsc rep_good nopl xtopology cpuid pni pclmulqdq ssse3 cx16 pcid sse4_1 sse4_2 x2apic popcnt ' +
  'aes xsave avx hypervisor lahf_lm pti xsaveopt';

/** The level scripts/build-faiss.sh picks for a CPU with these cpuinfo flags (from its cache key). */
function levelFor(flags: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-isa-'));
  try {
    const cpuinfo = path.join(dir, 'cpuinfo');
    fs.writeFileSync(cpuinfo, `processor\t: 0\nvendor_id\t: AuthenticAMD\n${flags === undefined ? '' : `flags\t\t: ${flags}\n`}`);
    const env: NodeJS.ProcessEnv = { ...process.env, FAISS_PROXY_CPUINFO: cpuinfo };
    delete env.FAISS_PROXY_ISA;
    const key = execFileSync('bash', [path.join(ROOT, 'scripts', 'build-faiss.sh'), '--print-key'], { env, encoding: 'utf8' }).trim();
    const m = /^faiss-[^-]+-[^-]+-(\w+)-cpu-/.exec(key);
    assert.ok(m, `unexpected cache key ${key}`);
    return m[1];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The extensions the disassembly shows, by /proc/cpuinfo name, and how they show.
// tzcnt is not among them: GCC emits BSF as "rep bsf" (objdump's "tzcnt") for any CPU,
// which runs as BSF on one without BMI1.
const EXTENSION_USES: { flag: string; uses: (mnemonic: string, operands: string) => boolean }[] = [
  { flag: 'avx', uses: (m) => /^v/.test(m) && m !== 'verr' && m !== 'verw' }, // VEX or EVEX encoded
  { flag: 'fma', uses: (m) => /^vf(n?)m(add|sub)/.test(m) },
  { flag: 'f16c', uses: (m) => m === 'vcvtph2ps' || m === 'vcvtps2ph' },
  { flag: 'avx512f', uses: (_m, ops) => /%zmm|%k[0-7]\b/.test(ops) },
  { flag: 'popcnt', uses: (m) => /^popcnt[wlq]?$/.test(m) },
  { flag: 'bmi1', uses: (m) => /^(andn|bextr|blsi|blsmsk|blsr)[lq]?$/.test(m) },
  { flag: 'bmi2', uses: (m) => /^(bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx)[lq]?$/.test(m) },
  { flag: 'abm', uses: (m) => /^lzcnt[wlq]?$/.test(m) },
  { flag: 'movbe', uses: (m) => /^movbe[wlq]?$/.test(m) },
];

/** The cpuinfo flags of EXTENSION_USES that the machine code of `file` uses, with an example instruction each. */
function extensionsUsed(file: string): Map<string, string> {
  const used = new Map<string, string>();
  const text = execFileSync('objdump', ['-d', '--no-show-raw-insn', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  for (const line of text.split('\n')) {
    const insn = /^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$/.exec(line);
    if (!insn) continue;
    for (const e of EXTENSION_USES) if (!used.has(e.flag) && e.uses(insn[1], insn[2])) used.set(e.flag, line.trim());
  }
  return used;
}

describe('the instruction set of the build', () => {
  it('scripts/build-faiss.sh picks avx512 or avx2 by the extensions FAISS and the kernels use, whatever BMI, LZCNT and MOVBE', () => {
    const cases: [string, string | undefined, string][] = [
      ['this VM (AVX-512, no abm)', VM_FLAGS, 'avx512'],
      ['the same CPU showing abm', `${VM_FLAGS} abm`, 'avx512'],
      ['no abm, bmi1, bmi2 or movbe', without(VM_FLAGS, 'bmi1', 'bmi2', 'movbe'), 'avx512'],
      ['no avx512bw', without(VM_FLAGS, 'avx512bw'), 'avx2'],
      ['Haswell', HASWELL_FLAGS, 'avx2'],
      ['Haswell without abm, bmi1, bmi2 or movbe', without(HASWELL_FLAGS, 'abm', 'bmi1', 'bmi2', 'movbe'), 'avx2'],
      ['no f16c', without(HASWELL_FLAGS, 'f16c'), 'generic'],
      ['no fma', without(VM_FLAGS, 'fma'), 'generic'],
      ['Sandy Bridge', SANDY_BRIDGE_FLAGS, 'generic'],
      ['no flags line', undefined, 'generic'],
    ];
    for (const [what, flags, level] of cases) assert.equal(levelFor(flags), level, what);
  });

  it('every built addon and its sandbox use no extension their faiss-build-info.json does not list', function () {
    this.timeout(300_000);
    // The cmake-js build and the node-gyp ones (in the clone, and scripts/pack-check.sh's install).
    const packed = path.join(ROOT, 'test-artifacts', 'pack-check', 'project', 'node_modules', 'faiss-proxy', 'build', 'Release', 'faiss_node.node');
    const addons = [...new Set([...addonCandidates(), packed])].filter((p) => fs.existsSync(p));
    assert.ok(addons.length > 0, 'no addon built');
    for (const addon of addons) {
      const info = readAddonBuildInfo(addon);
      assert.ok(info, `no faiss-build-info.json next to ${addon}`);
      for (const file of [addon, path.join(path.dirname(addon), 'faiss-proxy-sandbox')]) {
        const unlisted: [string, string][] = [...extensionsUsed(file)].filter(([flag]) => !info.cpuFlags.includes(flag));
        assert.deepEqual(unlisted, [], `${file} (${info.isa}: ${info.archFlags}) uses extensions its build does not list`);
      }
    }
  });

  it('an avx2 or avx512 build uses the extensions that make it one: FMA, F16C, and AVX-512 registers in avx512', function () {
    this.timeout(120_000);
    const addon = addonCandidates().find((p) => fs.existsSync(p))!;
    const info = readAddonBuildInfo(addon)!;
    if (info.isa === 'generic') this.skip();
    const used = extensionsUsed(addon);
    const expected = info.isa === 'avx512' ? ['avx', 'fma', 'f16c', 'avx512f', 'popcnt'] : ['avx', 'fma', 'f16c', 'popcnt'];
    for (const flag of expected) assert.ok(used.has(flag), `${addon} (${info.isa}) has no ${flag} instruction`);
  });
});
