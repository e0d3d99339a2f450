/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NULL-terminated string vectors (char **), as in systemd and git's strvec. */

#include <stdbool.h>
#include <stddef.h>
#include "basic/macro.h"

size_t strv_length(char * const *l);
/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
/* Appends s itself, taking ownership (freed on failure). */
int strv_consume(char ***l, char *s);
bool strv_contains(char * const *l, const char *s);
char **strv_copy(char * const *l);
void strv_free(char **l);
/* Joins with sep; returns a new string or NULL on ENOMEM. */
char *strv_join(char * const *l, const char *sep);

DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define STRV_FOREACH(s, l) for (char * const *s = (l); s && *s; s++)
