/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include "macro.h"
#include "sysmgr.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define CALL_TIMEOUT_USEC (120ULL * 1000000ULL)

struct sysmgr {
        sd_bus *bus;
        bool direct;                    /* no broker: messages carry no sender */
        bool subscribed;
        char error[512];
        /* the job being waited for, and how it ended */
        const char *job_path;
        char job_result[32];
        bool job_removed;
};


static void set_error(struct sysmgr *m, const char *fmt, ...) _printf_(2, 3);
static void set_error(struct sysmgr *m, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->error, sizeof(m->error), fmt, ap);
        va_end(ap);
}

const char *sysmgr_error(const struct sysmgr *m) {
        return m->error;
}

static int sysmgr_new(sd_bus *bus, bool direct, struct sysmgr **ret) {
        struct sysmgr *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->bus = bus;
        m->direct = direct;
        *ret = m;
        return 0;
}

static int connect_address(const char *address, bool direct, struct sysmgr **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        if (!direct && (r = sd_bus_set_bus_client(bus, 1)) < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sysmgr_new(bus, direct, ret);
        if (r >= 0)
                bus = NULL;
        return r;
}

int sysmgr_open(struct sysmgr **ret) {
        /* what systemctl does as root: the private socket needs no dbus-daemon
         * and no bus policy, and only root can reach it */
        int r = connect_address("unix:path=/run/systemd/private", true, ret);
        if (r >= 0)
                return r;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sysmgr_new(bus, false, ret);
        if (r >= 0)
                bus = NULL;
        return r;
}

int sysmgr_open_fd(int fd, struct sysmgr **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r = sd_bus_new(&bus);
        if (r < 0) {
                close(fd);
                return r;
        }
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0) {
                close(fd);
                return r;
        }
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sysmgr_new(bus, true, ret);
        if (r >= 0)
                bus = NULL;
        return r;
}

void sysmgr_free(struct sysmgr *m) {
        if (!m)
                return;
        sd_bus_flush_close_unref(m->bus);
        free(m);
}

/* A manager method; the reply in *reply when asked for. Errors land in
 * m->error as "Member: the manager's message". */
static int call_manager(struct sysmgr *m, const char *member, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *rep = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r = sd_bus_message_new_method_call(m->bus, &msg, SD_DEST, SD_PATH, SD_MANAGER, member);
        if (r < 0)
                return r;
        if (types) {
                va_list ap;
                va_start(ap, types);
                r = sd_bus_message_appendv(msg, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        r = sd_bus_call(m->bus, msg, CALL_TIMEOUT_USEC, &err, &rep);
        if (r < 0) {
                set_error(m, "%s: %s", member, err.message ? err.message : strerror(-r));
                sd_bus_error_free(&err);
                return r;
        }
        if (reply)
                *reply = TAKE_PTR(rep);
        return 0;
}

static int unit_path(const char *unit, char **ret) {
        return sd_bus_path_encode(SD_PATH "/unit", unit, ret);
}

int sysmgr_need_reload(struct sysmgr *m, char * const *units) {
        for (char * const *u = units; u && *u; u++) {
                _cleanup_free_ char *path = NULL;
                sd_bus_error err = SD_BUS_ERROR_NULL;
                int need = 0;
                int r = unit_path(*u, &path);
                if (r < 0)
                        return r;
                r = sd_bus_get_property_trivial(m->bus, SD_DEST, path, SD_UNIT, "NeedDaemonReload", &err, 'b', &need);
                if (r < 0) {
                        set_error(m, "%s NeedDaemonReload: %s", *u, err.message ? err.message : strerror(-r));
                        sd_bus_error_free(&err);
                        return r;
                }
                if (need)
                        return 1;
        }
        return 0;
}

int sysmgr_reload(struct sysmgr *m) {
        /* the manager answers once the reload is over */
        return call_manager(m, "Reload", NULL, NULL);
}

int sysmgr_enable(struct sysmgr *m, char * const *units) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *rep = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        if (!units || !units[0])
                return 0;
        int r = sd_bus_message_new_method_call(m->bus, &msg, SD_DEST, SD_PATH, SD_MANAGER, "EnableUnitFiles");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(msg, (char **) units);
        if (r < 0)
                return r;
        /* persistent (not runtime), not forced over other links */
        r = sd_bus_message_append(msg, "bb", 0, 0);
        if (r < 0)
                return r;
        r = sd_bus_call(m->bus, msg, CALL_TIMEOUT_USEC, &err, &rep);
        if (r < 0) {
                set_error(m, "EnableUnitFiles: %s", err.message ? err.message : strerror(-r));
                sd_bus_error_free(&err);
                return r;
        }
        return 0;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        (void) ret_error;
        struct sysmgr *m = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        if (sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (m->job_path && STREQ(path, m->job_path)) {
                snprintf(m->job_result, sizeof(m->job_result), "%s", result);
                m->job_removed = true;
        }
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* Why a unit's job did not end "done": the unit's own Result ("exit-code",
 * "timeout", ...) when it has one, for a message like systemctl's. */
static void explain_job(struct sysmgr *m, const char *verb, const char *unit) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *active = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        if (unit_path(unit, &path) >= 0)
                (void) sd_bus_get_property_string(m->bus, SD_DEST, path, SD_UNIT, "ActiveState", &err, &active);
        sd_bus_error_free(&err);
        set_error(m, "%s %s: job %s (unit %s); see 'journalctl -u %s'", verb, unit, m->job_result,
                  active ? active : "state unknown", unit);
}

int sysmgr_run_job(struct sysmgr *m, enum sysmgr_job job, const char *unit, uint64_t timeout_usec) {
        static const char *const methods[] = {
                [SYSMGR_START] = "StartUnit", [SYSMGR_RESTART] = "RestartUnit", [SYSMGR_TRY_RESTART] = "TryRestartUnit",
        };
        static const char *const verbs[] = {
                [SYSMGR_START] = "start", [SYSMGR_RESTART] = "restart", [SYSMGR_TRY_RESTART] = "try-restart",
        };
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *rep = NULL;
        /* the match before the job exists: its JobRemoved can come before
         * the reply has been read; on the bus only the manager's count */
        int r = sd_bus_match_signal(m->bus, &slot, m->direct ? NULL : SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                    on_job_removed, m);
        if (r < 0)
                return r;
        if (!m->subscribed) {
                r = call_manager(m, "Subscribe", NULL, NULL);
                if (r < 0)
                        return r;
                m->subscribed = true;
        }
        r = call_manager(m, methods[job], &rep, "ss", unit, "replace");
        if (r < 0)
                return r;
        const char *job_path;
        r = sd_bus_message_read(rep, "o", &job_path);
        if (r < 0)
                return r;
        m->job_path = job_path;
        m->job_removed = false;
        uint64_t deadline = now_usec() + timeout_usec;
        while (!m->job_removed) {
                r = sd_bus_process(m->bus, NULL);
                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                uint64_t now = now_usec();
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = sd_bus_wait(m->bus, deadline - now);
                if (r < 0)
                        break;
        }
        m->job_path = NULL;
        if (r == -ETIMEDOUT) {
                set_error(m, "%s %s: the job did not finish in %llu s", verbs[job], unit,
                          (unsigned long long) (timeout_usec / 1000000ULL));
                return r;
        }
        if (r < 0) {
                set_error(m, "%s %s: lost the manager: %s", verbs[job], unit, strerror(-r));
                return r;
        }
        if (!STREQ(m->job_result, "done")) {
                explain_job(m, verbs[job], unit);
                return -EIO;
        }
        return 0;
}
