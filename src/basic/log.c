/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include "basic/log.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static int to_journal;

void log_set_max_level(enum log_level l) { max_level = l; }
void log_set_journal(int on) { to_journal = on; }

static void log_text(enum log_level l, const char *text) {
        if (l > max_level)
                return;
        fprintf(stderr, "%s%s\n", l <= LOG_LEVEL_ERR ? "error: " : l == LOG_LEVEL_WARNING ? "warning: " : "", text);
        if (to_journal)
                sd_journal_print((int) l, "%s", text);
}

void log_msg(enum log_level l, const char *fmt, ...) {
        char *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (r >= 0)
                log_text(l, text);
        free(text);
}

int log_errno_msg(enum log_level l, int negerr, const char *fmt, ...) {
        char *text = NULL, *full = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (r >= 0 && asprintf(&full, "%s: %s", text, strerror(negerr < 0 ? -negerr : negerr)) >= 0)
                log_text(l, full);
        free(text);
        free(full);
        return negerr;
}

int errorf(char **error, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (error && vasprintf(error, fmt, ap) < 0)
                *error = NULL;
        va_end(ap);
        return r;
}
