/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include "agent/sysmgr.h"
#include "basic/clock.h"
#include "basic/macro.h"

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

/* Takes *bus (left NULL) when it succeeds. */
static int sysmgr_new(sd_bus **bus, bool direct, struct sysmgr **ret) {
        struct sysmgr *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->bus = TAKE_PTR(*bus);
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
        return sysmgr_new(&bus, direct, ret);
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
        return sysmgr_new(&bus, false, ret);
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
        return sysmgr_new(&bus, true, ret);
}

void sysmgr_free(struct sysmgr *m) {
        if (!m)
                return;
        sd_bus_flush_close_unref(m->bus);
        free(m);
}

static int new_manager_call(struct sysmgr *m, const char *member, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(m->bus, ret, SD_DEST, SD_PATH, SD_MANAGER, member);
}

/* Sends a manager method call; the reply in *reply when asked for. Errors
 * land in m->error as "Member: the manager's message". */
static int send_manager_call(struct sysmgr *m, sd_bus_message *msg, sd_bus_message **reply) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r = sd_bus_call(m->bus, msg, CALL_TIMEOUT_USEC, &err, reply);
        if (r < 0) {
                set_error(m, "%s: %s", sd_bus_message_get_member(msg), err.message ? err.message : strerror(-r));
                sd_bus_error_free(&err);
                return r;
        }
        return 0;
}

/* A manager method with arguments of the given sd-bus types. */
static int call_manager(struct sysmgr *m, const char *member, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r = new_manager_call(m, member, &msg);
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
        return send_manager_call(m, msg, reply);
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

int sysmgr_active_state(struct sysmgr *m, const char *unit, char **ret) {
        _cleanup_free_ char *path = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r = unit_path(unit, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(m->bus, SD_DEST, path, SD_UNIT, "ActiveState", &err, ret);
        if (r < 0)
                set_error(m, "%s ActiveState: %s", unit, err.message ? err.message : strerror(-r));
        sd_bus_error_free(&err);
        return r;
}

int sysmgr_reload(struct sysmgr *m) {
        /* the manager answers once the reload is over */
        return call_manager(m, "Reload", NULL, NULL);
}

int sysmgr_enable(struct sysmgr *m, char * const *units) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        if (!units || !units[0])
                return 0;
        /* an array of strings does not go through the varargs of call_manager() */
        int r = new_manager_call(m, "EnableUnitFiles", &msg);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(msg, (char **) units);
        if (r < 0)
                return r;
        /* persistent (not runtime), not forced over other links */
        r = sd_bus_message_append(msg, "bb", 0, 0);
        if (r < 0)
                return r;
        return send_manager_call(m, msg, NULL);
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

/* Why a unit's job did not end "done": the job's result and the unit's
 * ActiveState ("failed", ...), for a message like systemctl's. */
static void explain_job(struct sysmgr *m, const char *verb, const char *unit) {
        _cleanup_free_ char *active = NULL;
        /* its own error, if any, is replaced by the one below */
        (void) sysmgr_active_state(m, unit, &active);
        set_error(m, "%s %s: job %s (unit %s); see 'journalctl -u %s'", verb, unit, m->job_result,
                  active ? active : "state unknown", unit);
}

int sysmgr_run_job(struct sysmgr *m, enum sysmgr_job job, const char *unit, uint64_t timeout_usec) {
        static const char *const methods[] = {
                [SYSMGR_START] = "StartUnit", [SYSMGR_RESTART] = "RestartUnit", [SYSMGR_TRY_RESTART] = "TryRestartUnit",
                [SYSMGR_TRY_RELOAD_OR_RESTART] = "ReloadOrTryRestartUnit",
        };
        static const char *const verbs[] = {
                [SYSMGR_START] = "start", [SYSMGR_RESTART] = "restart", [SYSMGR_TRY_RESTART] = "try-restart",
                [SYSMGR_TRY_RELOAD_OR_RESTART] = "try-reload-or-restart",
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
        long long deadline = now_ms() + (long long) (timeout_usec / 1000ULL);
        while (!m->job_removed) {
                r = sd_bus_process(m->bus, NULL);
                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                long long now = now_ms();
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = sd_bus_wait(m->bus, (uint64_t) (deadline - now) * 1000ULL);
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
