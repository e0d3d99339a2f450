/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include "basic/macro.h"
#include "shared/libload.h"

/* The Makefile reads them from the libraries the agent is compiled against. */
#ifndef LIBCURL_SONAME
#error "LIBCURL_SONAME is not defined (the Makefile passes -DLIBCURL_SONAME=\"libcurl.so.N\")"
#endif
#ifndef LIBARCHIVE_SONAME
#error "LIBARCHIVE_SONAME is not defined (the Makefile passes -DLIBARCHIVE_SONAME=\"libarchive.so.N\")"
#endif

#define LIBLOAD_DEFINE(s) __typeof__(s) *sym_##s = NULL;
LIBLOAD_CURL_SYMBOLS(LIBLOAD_DEFINE)
LIBLOAD_ARCHIVE_SYMBOLS(LIBLOAD_DEFINE)

struct symbol {
        void **ptr;
        const char *name;
};

/* POSIX guarantees a dlsym() result converts to a function pointer, which
 * is how the pointer is written here. */
#define LIBLOAD_ENTRY(s) { (void **) &sym_##s, #s },
static const struct symbol curl_symbols[] = { LIBLOAD_CURL_SYMBOLS(LIBLOAD_ENTRY) };
static const struct symbol archive_symbols[] = { LIBLOAD_ARCHIVE_SYMBOLS(LIBLOAD_ENTRY) };

struct library {
        const char *built_soname;
        const char *soname;             /* what the next load tries */
        const char *needed_for;         /* for the error message */
        const struct symbol *symbols;
        size_t n_symbols;
        /* after the symbols are set: the library's own setup; 0 or a reason */
        const char *(*init)(void);
        void *handle;                   /* non-NULL once loaded */
};

/* curl_global_init is not thread-safe before 7.84 and must run before any
 * other curl call: once, here, under the load lock. */
static const char *curl_init(void) {
        CURLcode cc = sym_curl_global_init(CURL_GLOBAL_DEFAULT);
        return cc == CURLE_OK ? NULL : sym_curl_easy_strerror(cc);
}

static struct library curl_library = {
        .built_soname = LIBCURL_SONAME,
        .soname = LIBCURL_SONAME,
        .needed_for = "needed for the ds=nocloud URL seed, the join preflight, the Kubernetes API and the Docker API",
        .symbols = curl_symbols,
        .n_symbols = ELEMENTSOF(curl_symbols),
        .init = curl_init,
};

static struct library archive_library = {
        .built_soname = LIBARCHIVE_SONAME,
        .soname = LIBARCHIVE_SONAME,
        .needed_for = "needed to read the image archives of the image store",
        .symbols = archive_symbols,
        .n_symbols = ELEMENTSOF(archive_symbols),
};

/* One lock for both: a load is rare (once per process) and short. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

_printf_(3, 4) static int load_failed(const struct library *l, char **error, const char *fmt, ...) {
        _cleanup_free_ char *reason = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&reason, fmt, ap);
        va_end(ap);
        if (error && (n < 0 || asprintf(error, "cannot load %s (%s): %s", l->soname, l->needed_for, reason) < 0))
                *error = NULL;
        return -ELIBACC;
}

static void unset_symbols(const struct library *l) {
        for (size_t i = 0; i < l->n_symbols; i++)
                *l->symbols[i].ptr = NULL;
}

static int library_load(struct library *l, char **error) {
        if (l->handle)
                return 0;
        (void) dlerror();
        void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                const char *e = dlerror();
                return load_failed(l, error, "%s", e ? e : "dlopen failed");
        }
        for (size_t i = 0; i < l->n_symbols; i++) {
                (void) dlerror();
                void *p = dlsym(h, l->symbols[i].name);
                if (!p) {
                        /* nothing half-loaded: the pointers set so far go too */
                        const char *e = dlerror();
                        int r = load_failed(l, error, "%s", e ? e : l->symbols[i].name);
                        unset_symbols(l);
                        dlclose(h);
                        return r;
                }
                *l->symbols[i].ptr = p;
        }
        const char *why = l->init ? l->init() : NULL;
        if (why) {
                int r = load_failed(l, error, "initialisation failed: %s", why);
                unset_symbols(l);
                dlclose(h);
                return r;
        }
        l->handle = h;
        return 0;
}

static int load_locked(struct library *l, char **error) {
        pthread_mutex_lock(&load_lock);
        int r = library_load(l, error);
        pthread_mutex_unlock(&load_lock);
        return r;
}

int libload_curl(char **error) {
        return load_locked(&curl_library, error);
}

int libload_archive(char **error) {
        return load_locked(&archive_library, error);
}

/* A loaded library keeps its soname: asking for the same one is fine. */
static bool soname_settable(const struct library *l, const char *soname) {
        return !l->handle || STREQ(l->soname, soname);
}

int libload_set_sonames_for_test(const char *curl, const char *archive) {
        int r = -EBUSY;
        curl = curl ? curl : curl_library.built_soname;
        archive = archive ? archive : archive_library.built_soname;
        pthread_mutex_lock(&load_lock);
        if (soname_settable(&curl_library, curl) && soname_settable(&archive_library, archive)) {
                curl_library.soname = curl;
                archive_library.soname = archive;
                r = 0;
        }
        pthread_mutex_unlock(&load_lock);
        return r;
}
