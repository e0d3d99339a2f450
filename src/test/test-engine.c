/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of engine.c, the run: in-process on scratch roots (--root),
 * so nothing live is touched; the lb example needs neither Docker nor
 * kubeadm, and its haproxy.cfg is checked by the real haproxy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/engine.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "test-util.h"

struct tree {
        char *dir, *root, *log;
};

static void tree_make(struct tree *t) {
        t->dir = make_tmpdir("nodeos-engine-");
        assert_true(asprintf(&t->root, "%s/root", t->dir) > 0 && asprintf(&t->log, "%s/run.log", t->dir) > 0);
        assert_int_equal(mkdir(t->root, 0755), 0);
}

static void tree_free(struct tree *t) {
        rm_rf(t->dir);
        free(t->dir);
        free(t->root);
        free(t->log);
}

static int run(const struct tree *t, const char *seed) {
        struct saved_output saved = output_to(t->log);
        struct engine_options o = { .root = t->root, .seed_dir = seed, .roles_dir = "roles" };
        int status = engine_run(&o);
        output_restore(saved);
        return status;
}

static char *in_root(const struct tree *t, const char *rel) {
        _cleanup_free_ char *text = NULL;
        return read_file_in_root(t->root, rel, &text, NULL) >= 0 ? TAKE_PTR(text) : NULL;
}

static bool log_has(const struct tree *t, const char *needle) {
        _cleanup_free_ char *text = NULL;
        return read_full_file(t->log, &text, NULL) >= 0 && strstr(text, needle);
}

static void a_run_configures_and_a_rerun_only_skips(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_true(log_has(&t, "NODEOS-AGENT: SUCCESS instance=lb-"));
        _cleanup_free_ char *ok = in_root(&t, "/var/lib/node-agent/success"), *cfg = in_root(&t, "/etc/haproxy/haproxy.cfg");
        assert_non_null(ok);
        assert_non_null(strstr(ok, "instance=lb-"));
        assert_non_null(cfg);
        /* the same instance again: success, and the configured node is left as it is */
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_true(log_has(&t, "NODEOS-AGENT: SUCCESS instance=lb-"));
        _cleanup_free_ char *cfg2 = in_root(&t, "/etc/haproxy/haproxy.cfg");
        assert_string_equal(cfg, cfg2);
        tree_free(&t);
}

static void a_seed_that_fails_validation_applies_nothing(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "tests/data/bad-seeds/bad-lb-mode"), 1);
        assert_true(log_has(&t, "NODEOS-AGENT: FAILED"));
        assert_true(log_has(&t, "lb.mode: expected haproxy or nginx, got 'envoy'"));
        /* only the agent's own record: no file of the node was written */
        _cleanup_free_ char *etc = NULL, *failed = in_root(&t, "/var/lib/node-agent/failed");
        assert_true(asprintf(&etc, "%s/etc", t.root) > 0);
        assert_int_equal(access(etc, F_OK), -1);
        assert_non_null(failed);
        tree_free(&t);
}

static void a_seed_for_another_role_than_the_image_is_refused(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(write_file_atomic(t.root, "/usr/share/nodeos/role", "verne\n", 6, 0644, -1, -1, NULL), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 1);
        assert_true(log_has(&t, "seed role 'lb' does not match this image, which is built for role 'verne'"));
        tree_free(&t);
}

static void a_missing_seed_directory_fails_naming_it(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "tests/data/no-such-seed"), 1);
        assert_true(log_has(&t, "NODEOS-AGENT: FAILED"));
        tree_free(&t);
}

int main(void) {
        log_set_max_level(LOG_LEVEL_ERR);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_run_configures_and_a_rerun_only_skips),
                cmocka_unit_test(a_seed_that_fails_validation_applies_nothing),
                cmocka_unit_test(a_seed_for_another_role_than_the_image_is_refused),
                cmocka_unit_test(a_missing_seed_directory_fails_naming_it),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
