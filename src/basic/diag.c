/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include "basic/diag.h"
#include "basic/strv.h"

void diag_add(struct diag *d, const char *file, size_t line, size_t col, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        diag_addv(d, file, line, col, fmt, ap);
        va_end(ap);
}

void diag_addv(struct diag *d, const char *file, size_t line, size_t col, const char *fmt, va_list ap) {
        char *msg = NULL, *full = NULL;
        int r = vasprintf(&msg, fmt, ap);
        if (r < 0)
                return;
        if (line > 0)
                r = asprintf(&full, "%s:%zu:%zu: %s", file ? file : "<input>", line, col, msg);
        else
                r = asprintf(&full, "%s: %s", file ? file : "<input>", msg);
        free(msg);
        if (r < 0)
                return;
        (void) strv_consume(&d->lines, full);
}

size_t diag_count(const struct diag *d) {
        return strv_length(d->lines);
}

void diag_print(const struct diag *d, FILE *f) {
        STRV_FOREACH(l, d->lines)
                fprintf(f, "%s\n", *l);
}

char *diag_join(const struct diag *d) {
        return strv_join(d->lines, "; ");
}

void diag_done(struct diag *d) {
        strv_free(d->lines);
        d->lines = NULL;
}
