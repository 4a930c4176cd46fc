# The native packet engine (issue 14): one Node-API addon, built by node-gyp at `npm ci`
# (scripts/build-native.mjs) against the running Node's own headers, linked with Debian's libpcap,
# libbpf and zlib. C11; everything above the per-packet seam stays TypeScript.
{
  "targets": [
    {
      "target_name": "pathwatch_native",
      # Every C file of the addon's glue, the engine, live capture and the kernel drop monitor: a file
      # added is a file built.
      "sources": ["<!@(find native/addon native/engine native/capture native/kernel -maxdepth 1 -name '*.c' 2>/dev/null | sort; true)"],
      "include_dirs": ["native"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Werror=implicit-function-declaration", "-Werror=incompatible-pointer-types", "-fvisibility=hidden"],
      "cflags!": ["-fno-exceptions"],
      "libraries": ["-lpcap", "-lbpf", "-l:libz.a", "-Wl,--exclude-libs,ALL"]
    }
  ]
}
