/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <string.h>
#include "agent/steps/step.h"
#include "basic/exec.h"
#include "basic/strv.h"

static void set_detail_v(struct step_result *res, const char *fmt, va_list ap) {
        char *d = NULL;
        if (vasprintf(&d, fmt, ap) < 0)
                d = NULL;
        free(res->detail);
        res->detail = d;
}

void step_result_set(struct step_result *res, enum step_status st, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        set_detail_v(res, fmt, ap);
        va_end(ap);
        res->status = st;
}

int step_fail(struct step_result *res, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        set_detail_v(res, fmt, ap);
        va_end(ap);
        res->status = STEP_FAILED;
        return r < 0 ? r : -EIO;
}

/* The one way steps run a helper (step_run is this without a hide hook): a
 * non-zero exit fails the step with the command and the tail of its output,
 * after hide() has masked any secret. */
int step_run_hiding(struct step_result *res, int timeout_ms, char * const *argv, size_t tail_lines,
                    void (*hide)(char *output, const void *data), const void *data) {
        struct exec_result er;
        _cleanup_free_ char *cmd = strv_join(argv, " ");
        int r = exec_run(argv, timeout_ms, &er);
        if (r < 0)
                return step_fail(res, r, "cannot run '%s': %s", cmd ? cmd : argv[0], chase_strerror(r));
        if (hide)
                hide(er.output, data);
        if (er.status != 0) {
                _cleanup_free_ char *tail = exec_output_tail(er.output, tail_lines);
                exec_result_done(&er);
                return step_fail(res, -EIO, "'%s' exited %d: %s", cmd ? cmd : argv[0], er.status, tail ? tail : "");
        }
        exec_result_done(&er);
        return 0;
}

int step_run(struct step_result *res, int timeout_ms, char * const *argv) {
        return step_run_hiding(res, timeout_ms, argv, 5, NULL, NULL);
}

int step_sysmgr_open(struct step_result *res, struct sysmgr **ret) {
        int r = sysmgr_open(ret);
        if (r < 0)
                return step_fail(res, r, "cannot reach systemd (its private socket or the system bus): %s",
                                 chase_strerror(r));
        return 0;
}

int step_sysmgr_fail(struct step_result *res, const struct sysmgr *m, int r) {
        const char *why = sysmgr_error(m);
        return step_fail(res, r, "systemd: %s", why[0] ? why : chase_strerror(r));
}
