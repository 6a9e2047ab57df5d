# node-gyp build of the addon (npm run build:gyp -> build/Release/faiss_node.node).
# It mirrors CMakeLists.txt, the primary build (cmake-js): same sources, the same
# FAISS (the project's own build, scripts/build-faiss.sh, cached outside the clone),
# compiled for the same instruction set, OpenBLAS linked directly, OpenMP, C++17 with
# exceptions and RTTI, and libfaiss's symbols kept private. Keep the two in step.
#
# FAISS_PREFIX (environment) names another build of the same layout.
{
  'variables': {
    # gyp cannot use a variable in the dict that defines it: the prefix comes first.
    'variables': {
      'faiss_prefix%': '<!(node -p "process.env.FAISS_PREFIX || require(\'child_process\').execFileSync(\'bash\', [\'scripts/build-faiss.sh\', \'--print-prefix\'], {encoding: \'utf8\'}).trim()")',
    },
    'faiss_prefix%': '<(faiss_prefix)',
    'faiss_arch_flags%': '<!(node -p "require(require(\'path\').join(\'<(faiss_prefix)\', \'faiss-build-info.json\')).archFlags")',
    'faiss_isa%': '<!(node -p "require(require(\'path\').join(\'<(faiss_prefix)\', \'faiss-build-info.json\')).isa")',
  },
  'targets': [
    {
      'target_name': 'faiss_node',
      # Same as file(GLOB native/*.cc native/workers/*.cc native/kernels/*.cc) in CMakeLists.txt.
      'sources': [
        '<!@(node -p "[\'native\',\'native/workers\',\'native/kernels\'].flatMap(d=>require(\'fs\').readdirSync(d).filter(f=>f.endsWith(\'.cc\')&&!(d===\'native\'&&f.startsWith(\'gpu\'))).sort().map(f=>d+\'/\'+f)).join(\' \')")',
      ],
      'include_dirs': [
        '<!(node -p "require(\'node-addon-api\').include_dir")',
        '<(faiss_prefix)/include',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NAPI_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',  # see CMakeLists.txt
        'NDEBUG',
        'FAISS_PROXY_ISA="<(faiss_isa)"',
      ],
      # What the addon was built for, next to it, for the loader's CPU check.
      'copies': [{ 'destination': '<(PRODUCT_DIR)', 'files': ['<(faiss_prefix)/faiss-build-info.json'] }],
      # node's common.gypi turns exceptions and RTTI off; the code needs both
      # (C++ exceptions through node-addon-api, dynamic_cast/typeid on indexes).
      'cflags!': ['-fno-exceptions', '-fno-rtti'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti'],
      # -Wall -Wextra -Wno-unused-parameter come from node's common.gypi.
      'cflags': ['-O3', '-fvisibility=hidden', '-fopenmp', '<@(faiss_arch_flags)'],
      'cflags_cc': ['-std=gnu++17', '-fexceptions', '-frtti'],
      'ldflags': [
        '-fopenmp',
        # Keep libfaiss's symbols private to the addon (see CMakeLists.txt).
        '-Wl,--exclude-libs,ALL',
        '-Wl,--as-needed',
        # Export only the N-API entry points (see native/exports.map).
        '-Wl,--version-script=<(module_root_dir)/native/exports.map',
      ],
      # OpenBLAS directly, not the generic -lblas/-llapack: those follow the Debian
      # alternatives and may resolve to the reference BLAS, which makes FAISS's batch
      # search many times slower.
      'libraries': [
        '<(faiss_prefix)/lib/libfaiss.a',
        '-lopenblas',
        '-lgomp',
      ],
    },
    {
      # The sandbox that reads untrusted index files, next to the addon in
      # build/Release/ (see CMakeLists.txt): same FAISS, our checks, no Node.
      'target_name': 'faiss-proxy-sandbox',
      'type': 'executable',
      'sources': [
        '<!@(node -p "require(\'fs\').readdirSync(\'native/sandbox\').filter(f=>f.endsWith(\'.cc\')).sort().map(f=>\'native/sandbox/\'+f).join(\' \')")',
        'native/alloc_guard.cc',
        'native/binary_index_type.cc',
        'native/binary_validate.cc',
        'native/idmap2_guard.cc',
        'native/index_type.cc',
        'native/newer_faiss.cc',
        'native/metrics.cc',
        'native/validate.cc',
      ],
      'include_dirs': ['<(faiss_prefix)/include'],
      'defines': ['NDEBUG'],
      'cflags!': ['-fno-exceptions', '-fno-rtti'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti'],
      'cflags': ['-O3', '-fopenmp', '<@(faiss_arch_flags)'],
      'cflags_cc': ['-std=gnu++17', '-fexceptions', '-frtti'],
      'ldflags': ['-fopenmp', '-Wl,--as-needed'],
      'libraries': [
        '<(faiss_prefix)/lib/libfaiss.a',
        '-lopenblas',
        '-lgomp',
      ],
    },
  ],
}
