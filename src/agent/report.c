/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "agent/report.h"
#include "basic/macro.h"

static bool notify = true;

void report_set_notify(bool on) {
        notify = on;
}

/* Quotes a value for key="value" lines: \" and \\ escaped, newlines folded. */
static void put_quoted(FILE *f, const char *v) {
        fputc('"', f);
        for (; v && *v; v++) {
                if (*v == '"' || *v == '\\')
                        fputc('\\', f);
                fputc(*v == '\n' ? ' ' : *v, f);
        }
        fputc('"', f);
}

void report_step(const char *stage, const char *step, const char *status, long long elapsed_ms, const char *detail) {
        printf("node-agent: stage=%s step=%s status=%s elapsed_ms=%lld", stage, step, status, elapsed_ms);
        if (detail) {
                fputs(" detail=", stdout);
                put_quoted(stdout, detail);
        }
        putchar('\n');
        fflush(stdout);
}

void report_success(const char *instance, const char *role, long long elapsed_ms) {
        printf("NODEOS-AGENT: SUCCESS instance=%s role=%s elapsed_ms=%lld\n", instance, role, elapsed_ms);
        fflush(stdout);
        if (notify)
                sd_notifyf(0, "READY=1\nSTATUS=configured: role %s, instance %s", role, instance);
}

void report_failure(const char *instance, const char *role, const char *reason) {
        printf("NODEOS-AGENT: FAILED instance=%s role=%s reason=", instance ? instance : "-", role ? role : "-");
        put_quoted(stdout, reason);
        putchar('\n');
        fflush(stdout);
        if (notify)
                sd_notifyf(0, "STATUS=failed: %s", reason ? reason : "unknown");
}

void report_status(const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r >= 0 && notify)
                sd_notifyf(0, "STATUS=%s", s);
        free(s);
}
