/* paths.c: where sharpc finds the runtime it compiles programs against and
 * the files `sharpc emit` copies: the build tree's paths compiled in by
 * CMake, unless the environment names others (SHARPC_RUNTIME_DIR: the
 * runtime's sources; SHARPC_GEN_DIR: CMake's generated headers;
 * SHARPC_RUNTIME_LIB: libsharprt.a; SHARPC_SHIP_LIB_DIR: codegen/ship/lib),
 * so that a build carried to another machine or folder works where it lands
 * (tests/gpu/run.sh on a GPU machine). */
#include <stdio.h>
#include <stdlib.h>

#include "codegen.h"

#if !defined(SHARPC_RUNTIME_DIR) || !defined(SHARPC_GEN_DIR) || !defined(SHARPC_RUNTIME_LIB) || \
    !defined(SHARPC_SHIP_LIB_DIR)
#error "SHARPC_RUNTIME_DIR, SHARPC_GEN_DIR, SHARPC_RUNTIME_LIB and SHARPC_SHIP_LIB_DIR are set by CMake"
#endif

const char *cg_path(CgPath which)
{
    static const struct {
        const char *env, *built;
    } paths[] = {
        [CG_PATH_RUNTIME] = { "SHARPC_RUNTIME_DIR", SHARPC_RUNTIME_DIR },
        [CG_PATH_GEN] = { "SHARPC_GEN_DIR", SHARPC_GEN_DIR },
        [CG_PATH_RUNTIME_LIB] = { "SHARPC_RUNTIME_LIB", SHARPC_RUNTIME_LIB },
        [CG_PATH_SHIP_LIB] = { "SHARPC_SHIP_LIB_DIR", SHARPC_SHIP_LIB_DIR },
    };
    const char *e = getenv(paths[which].env);
    return e && *e ? e : paths[which].built;
}

const char *cg_path_join(CgPath which, const char *prefix, const char *sub, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", prefix ? prefix : "", cg_path(which), sub ? sub : "");
    return buf;
}
