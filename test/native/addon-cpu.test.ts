// The addon and its FAISS are compiled for one instruction set (scripts/build-faiss.sh),
// and would die of SIGILL on a CPU without it. The loader (lib/addon-cpu.ts) reads the
// faiss-build-info.json next to the addon and refuses, with a FaissError, to load it on
// a CPU that lacks a flag it lists. Loading runs in a child process, so that a SIGILL
// would show as one.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { missingCpuFlags, readAddonBuildInfo } from '../../lib/addon-cpu';
import { addonCandidates } from '../../lib/native';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const LIB = path.join(ROOT, 'dist', 'lib');

// Abridged /proc/cpuinfo of two processors of an x86-64 machine (with the "vmx flags"
// line newer kernels add) and of an arm64 one.
const X86 = `processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 popcnt avx f16c avx2 bmi1 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl
vmx flags\t: vnmi preemption_timer avx512_fake
bugs\t\t: spectre_v1

processor\t: 1
flags\t\t: fpu vme sse sse2
`;
const ARM = `processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
`;

/** The cached FAISS build's faiss-build-info.json (scripts/build-faiss.sh --print-prefix). */
function cachedBuildInfo(): { isa: string; key: string; cpuFlags: string[] } {
  const prefix = execFileSync('bash', [path.join(ROOT, 'scripts', 'build-faiss.sh'), '--print-prefix'], { encoding: 'utf8' }).trim();
  return JSON.parse(fs.readFileSync(path.join(prefix, 'faiss-build-info.json'), 'utf8'));
}

describe('the addon CPU check', () => {
  describe('missingCpuFlags', () => {
    it('reads the first "flags" line of x86 cpuinfo', () => {
      assert.deepEqual(missingCpuFlags(['avx2', 'fma', 'avx512f', 'avx512vl'], X86), []);
      // avx512_fake is on the "vmx flags" line, which lists no instructions; the second
      // processor's line is not read.
      assert.deepEqual(missingCpuFlags(['avx512_fake', 'avx2', 'avx512vnni'], X86), ['avx512_fake', 'avx512vnni']);
    });

    it('reads the "Features" line of arm cpuinfo', () => {
      assert.deepEqual(missingCpuFlags(['asimd', 'fp'], ARM), []);
      assert.deepEqual(missingCpuFlags(['sve', 'asimd', 'avx2'], ARM), ['sve', 'avx2']);
    });

    it('matches whole flags only', () => {
      assert.deepEqual(missingCpuFlags(['avx', 'sse4', 'avx512'], X86), ['sse4', 'avx512']);
    });

    it('finds every flag missing where cpuinfo lists none, and nothing missing when nothing is required', () => {
      assert.deepEqual(missingCpuFlags(['avx2'], 'processor\t: 0\nmodel name\t: something\n'), ['avx2']);
      assert.deepEqual(missingCpuFlags(['avx2'], ''), ['avx2']);
      assert.deepEqual(missingCpuFlags([], ''), []);
    });
  });

  describe('the loaded addon', () => {
    it('was built for the cached FAISS build, and this CPU has every flag that build needs', function () {
      const loaded = addonCandidates().find((p) => fs.existsSync(p))!;
      const info = readAddonBuildInfo(loaded);
      assert.ok(info, `no faiss-build-info.json next to ${loaded}`);
      assert.equal(faiss.buildInfo().isa, info.isa);
      assert.deepEqual(missingCpuFlags(info.cpuFlags, fs.readFileSync('/proc/cpuinfo', 'utf8')), []);
      if (process.env.FAISS_PROXY_ADDON) return; // an override names another build than the cache's
      const cached = cachedBuildInfo();
      assert.equal(faiss.buildInfo().isa, cached.isa);
      assert.equal(info.key, cached.key);
      assert.deepEqual(missingCpuFlags(cached.cpuFlags, fs.readFileSync('/proc/cpuinfo', 'utf8')), []);
    });

    it('buildInfo() says whether it is the GPU build, and its CUDA version and architectures, as its FAISS build records them', () => {
      const loaded = addonCandidates().find((p) => fs.existsSync(p))!;
      const info = readAddonBuildInfo(loaded)!;
      const built = faiss.buildInfo();
      assert.equal(built.gpu, info.gpu);
      assert.equal(built.cudaVersion, info.cudaVersion ?? null);
      assert.equal(built.cudaArchs, info.cudaArchs ?? null);
      if (built.gpu) assert.match(built.cudaVersion!, /^\d+\.\d+$/);
    });
  });

  describe('an addon built for a CPU this one is not', () => {
    let dir: string;
    const loaded = (): string => addonCandidates().find((p) => fs.existsSync(p))!;

    before(() => {
      // The addon, its sandbox and its faiss-build-info.json, as built.
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-addon-cpu-'));
      fs.cpSync(path.dirname(loaded()), dir, { recursive: true });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Loads the copy in a child process; what it threw (or 'loaded' and a search's answer). */
    function loadCopy(): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
      const script = `
        const { FaissError } = require(${JSON.stringify(path.join(LIB, 'errors'))});
        let f;
        try {
          f = require(${JSON.stringify(LIB)});
        } catch (e) {
          console.log(JSON.stringify({ faissError: e instanceof FaissError, code: e.code, message: e.message }));
          process.exit(3);
        }
        const i = new f.IndexFlatL2(2);
        i.add(new Float32Array([0, 0, 5, 5])).then(() => i.search(new Float32Array([4, 4]), 1))
          .then((r) => console.log(JSON.stringify({ loaded: f.buildInfo().isa, label: String(r.labels[0]) })));`;
      const r = spawnSync(process.execPath, ['-e', script], {
        env: { ...process.env, FAISS_PROXY_ADDON: path.join(dir, path.basename(loaded())) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
    }

    it('the copy loads and searches as built (the check passes on this CPU)', () => {
      const r = loadCopy();
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { loaded: faiss.buildInfo().isa, label: '1' });
    });

    it('a damaged faiss-build-info.json: ERR_UNSUPPORTED naming the file, an error exit', () => {
      const infoFile = path.join(dir, 'faiss-build-info.json');
      const original = fs.readFileSync(infoFile);
      try {
        for (const damaged of ['{"isa": "avx2", "cpuFl', '{"isa": "avx2"}', 'null']) {
          fs.writeFileSync(infoFile, damaged);
          const r = loadCopy();
          assert.equal(r.signal, null, r.stderr);
          assert.equal(r.status, 3, `${damaged}: exit ${r.status}: ${r.stdout} ${r.stderr}`);
          const thrown = JSON.parse(r.stdout);
          assert.equal(thrown.faissError, true);
          assert.equal(thrown.code, 'ERR_UNSUPPORTED');
          assert.match(thrown.message, /faiss-build-info\.json is not a FAISS build description/);
        }
      } finally {
        fs.writeFileSync(infoFile, original);
      }
    });

    it('requiring a flag no CPU has: ERR_UNSUPPORTED naming the flag and the fix, an error exit, never a signal', () => {
      const infoFile = path.join(dir, 'faiss-build-info.json');
      const info = JSON.parse(fs.readFileSync(infoFile, 'utf8'));
      info.cpuFlags = [...info.cpuFlags, 'avx8192_imaginary'];
      fs.writeFileSync(infoFile, JSON.stringify(info));
      const r = loadCopy();
      assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
      assert.equal(r.status, 3, `exit ${r.status}: ${r.stdout} ${r.stderr}`);
      const thrown = JSON.parse(r.stdout);
      assert.equal(thrown.faissError, true);
      assert.equal(thrown.code, 'ERR_UNSUPPORTED');
      assert.match(thrown.message, /this CPU lacks avx8192_imaginary\b/);
      assert.match(thrown.message, new RegExp(`built for ${info.isa}`));
      assert.match(thrown.message, /npm run build:native/);
      assert.match(thrown.message, /FAISS_PROXY_ISA=/);
      // Uncaught, it ends the process with an error exit.
      const plain = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(LIB)})`], {
        env: { ...process.env, FAISS_PROXY_ADDON: path.join(dir, path.basename(loaded())) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(plain.signal, null, plain.stderr);
      assert.equal(plain.status, 1, plain.stderr);
      assert.match(plain.stderr, /ERR_UNSUPPORTED/);
    });
  });
});
