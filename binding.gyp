# node-gyp build of the addon (npm run build:gyp -> build/Release/faiss_node.node).
# It mirrors CMakeLists.txt, the primary build (cmake-js): same sources, same
# system FAISS (Debian's static libfaiss.a), OpenBLAS linked directly, OpenMP,
# C++17 with exceptions and RTTI, and libfaiss's symbols kept private.
# Keep the two files in step.
#
# FAISS location: FAISS_PREFIX (default /usr) or FAISS_LIBRARY (full path to
# libfaiss.a), from the environment or as gyp variables
# (node-gyp rebuild -- -Dfaiss_prefix=/opt/faiss).
{
  'variables': {
    'faiss_prefix%': '<!(node -p "process.env.FAISS_PREFIX || \'/usr\'")',
  },
  'targets': [
    {
      'target_name': 'faiss_node',
      'variables': {
        # First of <prefix>/lib/<multiarch>, lib64, lib holding libfaiss.a.
        'faiss_library%': '<!(node -e "const fs=require(\'fs\'),p=require(\'path\');const c=[\'lib/x86_64-linux-gnu\',\'lib/aarch64-linux-gnu\',\'lib64\',\'lib\'].map(d=>p.join(\'<(faiss_prefix)\',d,\'libfaiss.a\'));console.log(process.env.FAISS_LIBRARY||c.find(f=>fs.existsSync(f))||c[0])")',
      },
      # Same as file(GLOB native/*.cc native/workers/*.cc) in CMakeLists.txt.
      'sources': [
        '<!@(node -p "[\'native\',\'native/workers\'].flatMap(d=>require(\'fs\').readdirSync(d).filter(f=>f.endsWith(\'.cc\')).sort().map(f=>d+\'/\'+f)).join(\' \')")',
      ],
      'include_dirs': [
        '<!(node -p "require(\'node-addon-api\').include_dir")',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NAPI_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',  # see CMakeLists.txt
        'NDEBUG',
      ],
      # node's common.gypi turns exceptions and RTTI off; the code needs both
      # (C++ exceptions through node-addon-api, dynamic_cast/typeid on indexes).
      'cflags!': ['-fno-exceptions', '-fno-rtti'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti'],
      # -Wall -Wextra -Wno-unused-parameter come from node's common.gypi.
      'cflags': ['-O3', '-fvisibility=hidden', '-fopenmp'],
      'cflags_cc': ['-std=gnu++17', '-fexceptions', '-frtti'],
      'ldflags': [
        '-fopenmp',
        # Keep libfaiss's symbols private to the addon (see CMakeLists.txt).
        '-Wl,--exclude-libs,ALL',
        '-Wl,--as-needed',
        # Export only the N-API entry points (see native/exports.map).
        '-Wl,--version-script=<(module_root_dir)/native/exports.map',
      ],
      # OpenBLAS directly, not the generic -lblas/-llapack that Debian's libfaiss
      # target names: those follow the Debian alternatives and may resolve to the
      # reference BLAS, which makes FAISS's batch search many times slower.
      'libraries': [
        '<(faiss_library)',
        '-lopenblas',
        '-lgomp',
      ],
      'conditions': [
        ['faiss_prefix!="/usr"', {
          'include_dirs': ['<(faiss_prefix)/include'],
        }],
      ],
    },
    {
      # The sandbox that reads untrusted index files, next to the addon in
      # build/Release/ (see CMakeLists.txt): same FAISS, our checks, no Node.
      'target_name': 'faiss-proxy-sandbox',
      'type': 'executable',
      'variables': {
        'faiss_library%': '<!(node -e "const fs=require(\'fs\'),p=require(\'path\');const c=[\'lib/x86_64-linux-gnu\',\'lib/aarch64-linux-gnu\',\'lib64\',\'lib\'].map(d=>p.join(\'<(faiss_prefix)\',d,\'libfaiss.a\'));console.log(process.env.FAISS_LIBRARY||c.find(f=>fs.existsSync(f))||c[0])")',
      },
      'sources': [
        '<!@(node -p "require(\'fs\').readdirSync(\'native/sandbox\').filter(f=>f.endsWith(\'.cc\')).sort().map(f=>\'native/sandbox/\'+f).join(\' \')")',
        'native/alloc_guard.cc',
        'native/idmap2_guard.cc',
        'native/index_type.cc',
        'native/validate.cc',
      ],
      'defines': ['NDEBUG'],
      'cflags!': ['-fno-exceptions', '-fno-rtti'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti'],
      'cflags': ['-O3', '-fopenmp'],
      'cflags_cc': ['-std=gnu++17', '-fexceptions', '-frtti'],
      'ldflags': ['-fopenmp', '-Wl,--as-needed'],
      'libraries': [
        '<(faiss_library)',
        '-lopenblas',
        '-lgomp',
      ],
      'conditions': [
        ['faiss_prefix!="/usr"', {
          'include_dirs': ['<(faiss_prefix)/include'],
        }],
      ],
    },
  ],
}
