// The admin key from a secrets file (a container's /run/secrets/..., a systemd
// credential): FAISS_PROXY_ADMIN_KEY_FILE / --admin-key-file.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../service/config';

describe('admin key file', () => {
  let dir: string;
  const KEY = 'fp_0123456789abcdef_d1TYQvmUjaqU3tYGnm5fXc8VxNPV99d9o7zYcbxC6e4';
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-key-file-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the key from the file named by FAISS_PROXY_ADMIN_KEY_FILE or --admin-key-file, without its trailing newline', () => {
    const file = write('key', `${KEY}\n`);
    assert.equal(loadConfig([], { FAISS_PROXY_ADMIN_KEY_FILE: file }).adminKey, KEY);
    assert.equal(loadConfig(['--admin-key-file', file], {}).adminKey, KEY);
    assert.equal(loadConfig([], { FAISS_PROXY_ADMIN_KEY_FILE: write('crlf', `${KEY}\r\n`) }).adminKey, KEY);
  });

  it('refuses a file it cannot read, an empty one, or one with more than a key, saying which file', () => {
    assert.throws(() => loadConfig(['--admin-key-file', path.join(dir, 'missing')], {}), /Cannot read the admin key file ".*missing": ENOENT/);
    assert.throws(() => loadConfig(['--admin-key-file', write('empty', '\n')], {}), /admin key file ".*empty" must hold one key/);
    assert.throws(() => loadConfig(['--admin-key-file', write('two', `${KEY}\n${KEY}\n`)], {}), /must hold one key/);
  });

  it('refuses the key given both ways instead of choosing one silently', () => {
    const file = write('both', KEY);
    assert.throws(() => loadConfig([], { FAISS_PROXY_ADMIN_KEY: KEY, FAISS_PROXY_ADMIN_KEY_FILE: file }), /--admin-key \(FAISS_PROXY_ADMIN_KEY\) and --admin-key-file \(FAISS_PROXY_ADMIN_KEY_FILE\) both give the adminKey: give one/);
    assert.throws(() => loadConfig(['--admin-key-file', file], { FAISS_PROXY_ADMIN_KEY: KEY }), /both give the adminKey/);
    // A flag still overrides its own variable.
    assert.equal(loadConfig(['--admin-key', KEY], { FAISS_PROXY_ADMIN_KEY: 'fp_x' }).adminKey, KEY);
  });
});
