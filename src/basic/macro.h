/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Scope-bound cleanup, after systemd's _cleanup_ helpers: a local declared
 * with one of these is released on every return path, so functions need no
 * goto ladders. Hand ownership on with TAKE_PTR(). */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _fallthrough_ __attribute__((fallthrough))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p) { free(*(void **)p); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

#define TAKE_PTR(p) ({ __typeof__(p) _p_ = (p); (p) = NULL; _p_; })
#define TAKE_FD(fd) ({ int _fd_ = (fd); (fd) = -1; _fd_; })

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define STREQ(a, b) (strcmp((a), (b)) == 0)

/* "" for NULL, where a string is printed whether it is set or not. */
static inline const char *strempty(const char *s) { return s ? s : ""; }

/* Where SUFFIX begins in S, or NULL when S does not end with it; the
 * difference from S is the length of what comes before the suffix. */
static inline const char *endswith(const char *s, const char *suffix) {
        size_t l = strlen(s), n = strlen(suffix);
        return l >= n && STREQ(s + l - n, suffix) ? s + l - n : NULL;
}

/* A negative errno from a libc call that reports through errno. */
static inline int negative_errno(void) { return errno > 0 ? -errno : -EIO; }

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) { if (*p) func(*p); }

/* Grows arr (n entries) by one zeroed entry, in place; false when out of
 * memory (arr untouched). */
#define GROW(arr, n) ({ __typeof__(arr) _a = realloc((arr), ((n) + 1) * sizeof(*(arr))); \
                        if (_a) { (arr) = _a; memset(&(arr)[(n)], 0, sizeof(*(arr))); } _a != NULL; })

/* The result of a parse that goes on after bad input, to report all of it:
 * the first error that is not -EINVAL (out of memory ends the parse's
 * success for good), else -EINVAL once any part found bad input, else 0. */
static inline int parse_merge(int acc, int r) {
        if (acc < 0 && acc != -EINVAL)
                return acc;
        if (r < 0 && r != -EINVAL)
                return r;
        return acc < 0 || r < 0 ? -EINVAL : 0;
}

/* Whether a parse that reached result r (from parse_merge) goes on to
 * report more: after bad input, yes; after any other error, no. */
static inline bool parse_may_go_on(int r) {
        return r >= 0 || r == -EINVAL;
}
