/* SPDX-License-Identifier: Apache-2.0 */
/* sysmgr against a fake systemd manager: a child process serving the
 * Manager and Unit D-Bus interfaces on one end of a socketpair, as the
 * manager's private socket does (a direct connection, no broker). The fake
 * is as strict as the manager on what it is sent: unknown methods and
 * members are errors (sd-bus answers UnknownMethod), a second Subscribe
 * is refused, StartUnit only accepts the "replace" mode, and it logs every
 * call so the tests can say what was asked. */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include "agent/sysmgr.h"
#include "basic/fileio.h"
#include "test-util.h"

static int log_fd = -1;
static unsigned next_job = 1;
static bool subscribed;

static void fake_log(const char *fmt, ...) _printf_(1, 2);
static void fake_log(const char *fmt, ...) {
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n > sizeof(line) - 2)
                n = sizeof(line) - 2;
        line[n++] = '\n';
        if (write(log_fd, line, (size_t) n) < 0)
                _exit(3);
}

static int job_removed(sd_bus *bus, unsigned id, const char *path, const char *unit, const char *result) {
        return sd_bus_emit_signal(bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved",
                                  "uoss", id, path, unit, result);
}

static int m_subscribe(sd_bus_message *m, void *ud, sd_bus_error *e) {
        (void) ud;
        fake_log("subscribe");
        if (subscribed)
                return sd_bus_error_set(e, "org.freedesktop.systemd1.AlreadySubscribed", "Client is already subscribed.");
        subscribed = true;
        return sd_bus_reply_method_return(m, NULL);
}

static int m_reload(sd_bus_message *m, void *ud, sd_bus_error *e) {
        (void) ud, (void) e;
        fake_log("reload");
        return sd_bus_reply_method_return(m, NULL);
}

static int m_enable(sd_bus_message *m, void *ud, sd_bus_error *e) {
        (void) ud;
        char **files = NULL;
        int runtime, force;
        int r = sd_bus_message_read_strv(m, &files);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "bb", &runtime, &force);
        if (r < 0)
                return r;
        char line[256] = "enable";
        for (char **f = files; f && *f; f++) {
                strncat(line, " ", sizeof(line) - strlen(line) - 1);
                strncat(line, *f, sizeof(line) - strlen(line) - 1);
                free(*f);
        }
        free(files);
        fake_log("%s runtime=%d force=%d", line, runtime, force);
        if (runtime || force)
                return sd_bus_error_set(e, SD_BUS_ERROR_INVALID_ARGS, "the agent enables persistently, never forced");
        return sd_bus_reply_method_return(m, "ba(sss)", 1, 0);
}

/* StartUnit, RestartUnit, TryRestartUnit. How the job ends depends on the
 * unit's name: bad.* fails, slow.* never ends, early.* ends before the
 * reply is sent, missing.* does not exist; another job's end is always
 * signalled first, which the client must ignore. */
static int m_job(sd_bus_message *m, void *ud, sd_bus_error *e) {
        (void) ud;
        const char *unit, *mode;
        int r = sd_bus_message_read(m, "ss", &unit, &mode);
        if (r < 0)
                return r;
        fake_log("%s %s %s", sd_bus_message_get_member(m), unit, mode);
        if (!STREQ(mode, "replace"))
                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "Job mode %s invalid.", mode);
        if (!strncmp(unit, "missing.", 8))
                return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not found.", unit);
        sd_bus *bus = sd_bus_message_get_bus(m);
        char path[64], other[64];
        unsigned id = next_job++;
        snprintf(path, sizeof(path), "/org/freedesktop/systemd1/job/%u", id);
        snprintf(other, sizeof(other), "/org/freedesktop/systemd1/job/%u", id + 1000);
        r = job_removed(bus, id + 1000, other, "other.service", "failed");
        if (r >= 0 && !strncmp(unit, "early.", 6))
                r = job_removed(bus, id, path, unit, "done");
        if (r >= 0)
                r = sd_bus_reply_method_return(m, "o", path);
        if (r >= 0 && strncmp(unit, "early.", 6) && strncmp(unit, "slow.", 5))
                r = job_removed(bus, id, path, unit, !strncmp(unit, "bad.", 4) ? "failed" : "done");
        return r;
}

static char *unit_of(const char *path) {
        char *unit = NULL;
        return sd_bus_path_decode(path, "/org/freedesktop/systemd1/unit", &unit) > 0 ? unit : NULL;
}

static int p_need_reload(sd_bus *b, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                         void *ud, sd_bus_error *e) {
        (void) b, (void) iface, (void) prop, (void) ud, (void) e;
        _cleanup_free_ char *unit = unit_of(path);
        fake_log("need-reload? %s", unit ? unit : "?");
        return sd_bus_message_append(reply, "b", unit && !strncmp(unit, "stale.", 6));
}

static int p_active_state(sd_bus *b, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                          void *ud, sd_bus_error *e) {
        (void) b, (void) iface, (void) prop, (void) ud, (void) e;
        _cleanup_free_ char *unit = unit_of(path);
        return sd_bus_message_append(reply, "s", unit && !strncmp(unit, "bad.", 4) ? "failed" : "active");
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Subscribe", "", "", m_subscribe, 0),
        SD_BUS_METHOD("Reload", "", "", m_reload, 0),
        SD_BUS_METHOD("EnableUnitFiles", "asbb", "ba(sss)", m_enable, 0),
        SD_BUS_METHOD("StartUnit", "ss", "o", m_job, 0),
        SD_BUS_METHOD("RestartUnit", "ss", "o", m_job, 0),
        SD_BUS_METHOD("TryRestartUnit", "ss", "o", m_job, 0),
        SD_BUS_METHOD("ReloadOrTryRestartUnit", "ss", "o", m_job, 0),
        SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable unit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("NeedDaemonReload", "b", p_need_reload, 0, 0),
        SD_BUS_PROPERTY("ActiveState", "s", p_active_state, 0, 0),
        SD_BUS_VTABLE_END,
};

static _Noreturn void serve(int fd) {
        sd_bus *bus = NULL;
        sd_id128_t id;
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 || sd_id128_randomize(&id) < 0 ||
            sd_bus_set_server(bus, 1, id) < 0 || sd_bus_set_anonymous(bus, 1) < 0 ||
            sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                     manager_vtable, NULL) < 0 ||
            sd_bus_add_fallback_vtable(bus, NULL, "/org/freedesktop/systemd1/unit", "org.freedesktop.systemd1.Unit",
                                       unit_vtable, NULL, NULL) < 0 ||
            sd_bus_start(bus) < 0)
                _exit(2);
        for (;;) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0)
                        _exit(0);       /* the client went away */
                if (r > 0)
                        continue;
                if (sd_bus_wait(bus, UINT64_MAX) < 0)
                        _exit(0);
        }
}

struct fake {
        char *dir, *log;
        pid_t pid;
        struct sysmgr *m;
};

static struct fake fake_start(void) {
        struct fake f = { .dir = make_tmpdir("nodeos-sysmgr-") };
        assert_true(asprintf(&f.log, "%s/log", f.dir) > 0);
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        f.pid = fork();
        assert_true(f.pid >= 0);
        if (f.pid == 0) {
                close(sv[0]);
                log_fd = open(f.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (log_fd < 0)
                        _exit(2);
                serve(sv[1]);
        }
        close(sv[1]);
        assert_int_equal(sysmgr_open_fd(sv[0], &f.m), 0);
        return f;
}

/* Closes the client, waits for the fake, returns its log (new string). */
static char *fake_stop(struct fake *f) {
        sysmgr_free(f->m);
        int st;
        assert_int_equal(waitpid(f->pid, &st, 0), f->pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        char *text = NULL;
        if (read_full_file(f->log, &text, NULL) < 0)
                text = strdup("");
        rm_rf(f->dir);
        free(f->dir);
        free(f->log);
        return text;
}

static size_t count(const char *haystack, const char *needle) {
        size_t n = 0;
        for (const char *p = haystack; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static void starting_a_unit_waits_for_its_own_job_and_ignores_others(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_START, "haproxy.service", 10000000ULL), 0);
        assert_string_equal(sysmgr_error(f.m), "");
        _cleanup_free_ char *log = fake_stop(&f);
        assert_non_null(strstr(log, "subscribe\nStartUnit haproxy.service replace\n"));
}

static void a_failed_job_names_the_unit_its_result_and_state(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_START, "bad.service", 10000000ULL), -EIO);
        assert_string_equal(sysmgr_error(f.m),
                            "start bad.service: job failed (unit failed); see 'journalctl -u bad.service'");
        free(fake_stop(&f));
}

static void a_job_that_ends_before_the_reply_is_still_seen(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_RESTART, "early.service", 10000000ULL), 0);
        _cleanup_free_ char *log = fake_stop(&f);
        assert_non_null(strstr(log, "RestartUnit early.service replace\n"));
}

static void a_job_that_never_ends_times_out(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_START, "slow.service", 300000ULL), -ETIMEDOUT);
        assert_non_null(strstr(sysmgr_error(f.m), "start slow.service: the job did not finish"));
        free(fake_stop(&f));
}

static void the_managers_refusal_is_the_error(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_true(sysmgr_run_job(f.m, SYSMGR_TRY_RESTART, "missing.service", 10000000ULL) < 0);
        assert_string_equal(sysmgr_error(f.m), "TryRestartUnit: Unit missing.service not found.");
        _cleanup_free_ char *log = fake_stop(&f);
        assert_non_null(strstr(log, "TryRestartUnit missing.service replace\n"));
}

static void a_config_change_asks_for_a_reload_not_a_restart(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_TRY_RELOAD_OR_RESTART, "haproxy.service", 10000000ULL), 0);
        _cleanup_free_ char *log = fake_stop(&f);
        assert_non_null(strstr(log, "ReloadOrTryRestartUnit haproxy.service replace\n"));
        assert_null(strstr(log, "\nRestartUnit "));
        assert_null(strstr(log, "\nTryRestartUnit "));
}

/* The fake is only as good as its names: every Manager method it serves
 * must be one the real manager has. systemctl calls each of them by
 * name, so its binary holds every name (TryReloadOrRestartUnit, a
 * plausible misspelling, is not there; ReloadOrTryRestartUnit is). */
static void every_method_the_fake_serves_is_one_systemctl_knows(void **state) {
        (void) state;
        _cleanup_free_ char *bin = NULL;
        size_t len = 0;
        assert_int_equal(read_full_file("/usr/bin/systemctl", &bin, &len), 0);
        size_t n = 0;
        for (const sd_bus_vtable *v = manager_vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_METHOD)
                        continue;
                const char *name = v->x.method.member;
                if (!memmem(bin, len, name, strlen(name) + 1))
                        fail_msg("the fake serves %s, which systemctl does not know", name);
                n++;
        }
        assert_true(n >= 7);
        assert_null(memmem(bin, len, "TryReloadOrRestartUnit", 23));
}

static void jobs_on_one_connection_subscribe_once(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_START, "a.service", 10000000ULL), 0);
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_START, "b.service", 10000000ULL), 0);
        assert_int_equal(sysmgr_run_job(f.m, SYSMGR_TRY_RESTART, "c.service", 10000000ULL), 0);
        _cleanup_free_ char *log = fake_stop(&f);
        assert_int_equal(count(log, "subscribe"), 1);
        assert_int_equal(count(log, "Unit "), 3);
}

static void need_reload_asks_each_unit_until_one_is_stale(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_need_reload(f.m, (char *[]) { "a.service", "b.service", NULL }), 0);
        assert_int_equal(sysmgr_need_reload(f.m, (char *[]) { "a.service", "stale.service", "c.service", NULL }), 1);
        assert_int_equal(sysmgr_reload(f.m), 0);
        _cleanup_free_ char *log = fake_stop(&f);
        assert_string_equal(log, "need-reload? a.service\nneed-reload? b.service\n"
                                 "need-reload? a.service\nneed-reload? stale.service\nreload\n");
}

static void enable_sends_the_list_persistently_without_a_reload(void **state) {
        (void) state;
        struct fake f = fake_start();
        assert_int_equal(sysmgr_enable(f.m, (char *[]) { "haproxy.service", "x.service", NULL }), 0);
        assert_int_equal(sysmgr_enable(f.m, (char *[]) { NULL }), 0);
        _cleanup_free_ char *log = fake_stop(&f);
        assert_string_equal(log, "enable haproxy.service x.service runtime=0 force=0\n");
}

/* health.c's question: is each of the role's units active */
static void a_units_active_state_is_the_managers(void **state) {
        (void) state;
        struct fake f = fake_start();
        _cleanup_free_ char *ok = NULL, *failed = NULL;
        assert_int_equal(sysmgr_active_state(f.m, "docker.service", &ok), 0);
        assert_string_equal(ok, "active");
        assert_int_equal(sysmgr_active_state(f.m, "bad.service", &failed), 0);
        assert_string_equal(failed, "failed");
        free(fake_stop(&f));
}

int main(void) {
        /* a write to a fake that has gone away must be an error, not a signal */
        signal(SIGPIPE, SIG_IGN);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(starting_a_unit_waits_for_its_own_job_and_ignores_others),
                cmocka_unit_test(a_failed_job_names_the_unit_its_result_and_state),
                cmocka_unit_test(a_job_that_ends_before_the_reply_is_still_seen),
                cmocka_unit_test(a_job_that_never_ends_times_out),
                cmocka_unit_test(the_managers_refusal_is_the_error),
                cmocka_unit_test(a_config_change_asks_for_a_reload_not_a_restart),
                cmocka_unit_test(every_method_the_fake_serves_is_one_systemctl_knows),
                cmocka_unit_test(jobs_on_one_connection_subscribe_once),
                cmocka_unit_test(need_reload_asks_each_unit_until_one_is_stale),
                cmocka_unit_test(enable_sends_the_list_persistently_without_a_reload),
                cmocka_unit_test(a_units_active_state_is_the_managers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
