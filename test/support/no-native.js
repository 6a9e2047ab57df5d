// Preloaded (node -r) to make native addons unloadable in a process: the remote
// client must work without them.
const Module = require('node:module');
Module._extensions['.node'] = (_module, filename) => {
  throw new Error(`native addons are disabled in this process (tried to load ${filename})`);
};
