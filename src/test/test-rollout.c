/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of fleet/rollout.c: rollout.tsv read back as written, its bad
 * lines named, and the staged swap (a new directory, an existing rollout
 * with the operator's own files, a CA key that would change). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include "basic/diag.h"
#include "basic/fileio.h"
#include "fleet/rollout.h"
#include "test-util.h"

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void put(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        assert_int_equal(write_file_atomic("/", p, text, strlen(text), 0600, -1, -1, NULL), 0);
}

static char *get(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL;
        char *text = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        return read_full_file(p, &text, NULL) >= 0 ? text : NULL;
}

static void state_reads_back_as_written(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("nodeos-rollout-");
        struct rollout_state s = { .rollout = strdup("1a2b3c4d") }, back = {};
        struct diag d = {};
        assert_int_equal(rollout_state_add_node(&s, "verne-1", "verne-1-1a2b3c4d", DIGEST), 0);
        s.nodes[0].token_expires = 1800000000;
        assert_int_equal(rollout_state_add_node(&s, "lb", "lb-1a2b3c4d", DIGEST), 0);
        assert_int_equal(rollout_state_add_token(&s, "abcdef", 1800000001), 0);
        assert_int_equal(rollout_state_write(dir, &s), 0);
        assert_int_equal(rollout_state_read(dir, &back, &d), 0);
        assert_string_equal(back.rollout, "1a2b3c4d");
        assert_int_equal(back.n_nodes, 2);
        const struct rollout_node *n = rollout_state_find(&back, "verne-1");
        assert_non_null(n);
        assert_string_equal(n->instance_id, "verne-1-1a2b3c4d");
        assert_int_equal(n->token_expires, 1800000000);
        assert_int_equal(rollout_state_find(&back, "lb")->token_expires, 0);
        assert_null(rollout_state_find(&back, "master"));
        assert_int_equal(back.n_tokens, 1);
        assert_string_equal(back.tokens[0].id, "abcdef");
        assert_int_equal(diag_count(&d), 0);
        rollout_state_done(&s);
        rollout_state_done(&back);
        rm_rf(dir);
}

static void a_bad_state_line_is_named_by_file_and_line(void **state) {
        (void) state;
        static const char * const bad[] = {
                "rollout\tx\nnode\tverne-1\tiid\tshort-digest\t0\n",
                "rollout\tx\nnode\tverne-1\tiid\t" DIGEST "\t0\nnode\tverne-1\tiid\t" DIGEST "\t0\n",
                "rollout\tx\ntoken\tabcdef\tsoon\n",
                "rollout\tx\nrollout\ty\n",
                "# no rollout line\nnode\tverne-1\tiid\t" DIGEST "\t0\n",
        };
        _cleanup_free_ char *dir = make_tmpdir("nodeos-rollout-"), *path = NULL;
        assert_true(asprintf(&path, "%s/rollout.tsv", dir) > 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct rollout_state s = {};
                struct diag d = {};
                put(dir, "rollout.tsv", bad[i]);
                assert_int_equal(rollout_state_read(dir, &s, &d), -EINVAL);
                assert_int_equal(diag_count(&d), 1);
                assert_int_equal(strncmp(d.lines[0], path, strlen(path)), 0);
                assert_null(s.rollout);
                diag_done(&d);
        }
        struct rollout_state s = {};
        struct diag d = {};
        assert_int_equal(rollout_state_read("/nonexistent-rollout", &s, &d), -ENOENT);
        rm_rf(dir);
}

static void directories_are_told_apart(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("nodeos-rollout-"), *sub = NULL;
        enum rollout_dir k;
        assert_true(asprintf(&sub, "%s/absent", dir) > 0);
        assert_int_equal(rollout_dir_inspect(sub, &k), 0);
        assert_int_equal(k, ROLLOUT_DIR_NEW);
        assert_int_equal(rollout_dir_inspect(dir, &k), 0);
        assert_int_equal(k, ROLLOUT_DIR_NEW);
        put(dir, "something", "x");
        assert_int_equal(rollout_dir_inspect(dir, &k), 0);
        assert_int_equal(k, ROLLOUT_DIR_FOREIGN);
        put(dir, "nodes.tsv", "# nodeos-seedgen rollout 1a2b3c4d, topology 100k\n");
        assert_int_equal(rollout_dir_inspect(dir, &k), 0);
        assert_int_equal(k, ROLLOUT_DIR_OURS);
        rm_rf(dir);
}

static void the_swap_keeps_the_operators_files_and_removes_the_old_output(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("nodeos-rollout-"), *out = NULL;
        char *staging = NULL;
        struct diag d = {};
        assert_true(asprintf(&out, "%s/out", dir) > 0);
        /* a new directory: the staging tree becomes it */
        assert_int_equal(rollout_stage_begin(out, &staging), 0);
        put(staging, "nodes.tsv", "one\n");
        put(staging, "ca.key", "KEY\n");
        assert_int_equal(rollout_stage_commit(out, staging, NULL, &d), 0);
        free(staging);
        put(out, "NOTES", "mine\n");
        /* an existing rollout: exchanged, NOTES carried over, the old tree gone */
        assert_int_equal(rollout_stage_begin(out, &staging), 0);
        put(staging, "nodes.tsv", "two\n");
        put(staging, "ca.key", "KEY\n");
        assert_int_equal(rollout_stage_commit(out, staging, NULL, &d), 0);
        _cleanup_free_ char *tsv = get(out, "nodes.tsv"), *notes = get(out, "NOTES");
        assert_string_equal(tsv, "two\n");
        assert_string_equal(notes, "mine\n");
        assert_int_equal(access(staging, F_OK), -1);
        free(staging);
        /* a swap that would change the CA key keeps the old output beside */
        assert_int_equal(rollout_stage_begin(out, &staging), 0);
        put(staging, "nodes.tsv", "three\n");
        put(staging, "ca.key", "OTHER KEY\n");
        assert_int_equal(rollout_stage_commit(out, staging, NULL, &d), -EIO);
        assert_int_equal(diag_count(&d), 1);
        _cleanup_free_ char *kept = get(staging, "ca.key");
        assert_string_equal(kept, "KEY\n");
        free(staging);
        /* retiring keeps the old rollout inside the new one */
        assert_int_equal(rollout_stage_begin(out, &staging), 0);
        put(staging, "nodes.tsv", "four\n");
        put(staging, "ca.key", "NEW KEY\n");
        assert_int_equal(rollout_stage_commit(out, staging, "1a2b3c4d", &d), 0);
        _cleanup_free_ char *retired = get(out, "retired/1a2b3c4d/ca.key");
        assert_string_equal(retired, "OTHER KEY\n");
        free(staging);
        diag_done(&d);
        rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(state_reads_back_as_written),
                cmocka_unit_test(a_bad_state_line_is_named_by_file_and_line),
                cmocka_unit_test(directories_are_told_apart),
                cmocka_unit_test(the_swap_keeps_the_operators_files_and_removes_the_old_output),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
