/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Diagnostics for user input: every problem in a seed or a role file becomes
 * one line "file:line:col: message" (line and column 1-based, from libyaml
 * marks), or "file: message" when no position applies. Parsers collect all of
 * them (not only the first) so one validate run shows everything to fix. */

#include <stdarg.h>
#include <stddef.h>
#include "basic/macro.h"

struct diag {
        char **lines;   /* strv of formatted messages */
};

void diag_add(struct diag *d, const char *file, size_t line, size_t col, const char *fmt, ...) _printf_(5, 6);
void diag_addv(struct diag *d, const char *file, size_t line, size_t col, const char *fmt, va_list ap) _printf_(5, 0);
size_t diag_count(const struct diag *d);
/* Prints every message to f, one per line. */
void diag_print(const struct diag *d, FILE *f);
/* All messages joined by "; " (for the failed sentinel); new string or NULL. */
char *diag_join(const struct diag *d);
void diag_done(struct diag *d);
