/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of state.c: steps recorded durably, sentinels, a torn state file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include "agent/state.h"
#include "basic/fileio.h"
#include "test-util.h"

static void state_records_steps_and_sentinels(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-"), *failed = NULL, *success = NULL;
        struct state s;
        assert_int_equal(state_load(root, &s), 0);
        assert_int_equal(state_begin(&s, "i-1", "verne"), 0);
        assert_int_equal(state_record_step(&s, "hostname", STEP_DONE, 1, "ok"), 0);
        assert_int_equal(state_finish(&s, false, "step sysctl: boom"), 0);
        state_done(&s);

        failed = path_in_root(root, STATE_DIR "/failed");
        success = path_in_root(root, STATE_DIR "/success");
        assert_int_equal(access(failed, F_OK), 0);

        /* reloaded: the step record survives, the failed sentinel goes at begin */
        assert_int_equal(state_load(root, &s), 0);
        assert_int_equal(state_step_status(&s, "hostname"), STEP_DONE);
        assert_int_equal(state_step_status(&s, "sysctl"), STEP_PENDING);
        assert_int_equal(state_begin(&s, "i-1", "verne"), 0);
        assert_int_not_equal(access(failed, F_OK), 0);
        assert_int_equal(state_finish(&s, true, NULL), 0);
        assert_true(state_is_complete(&s, "i-1"));
        assert_false(state_is_complete(&s, "i-10"));

        /* another instance-id starts over */
        assert_int_equal(state_begin(&s, "i-2", "verne"), 0);
        assert_int_equal(state_step_status(&s, "hostname"), STEP_PENDING);
        assert_int_not_equal(access(success, F_OK), 0);
        state_done(&s);
        rm_rf(root);
}

static void state_survives_a_torn_file(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-");
        assert_int_equal(write_file_atomic(root, STATE_DIR "/state.json", "{\"steps\": {", 11, 0644, -1, -1, NULL), 0);
        struct state s;
        assert_int_equal(state_load(root, &s), 0);
        assert_null(state_instance_id(&s));
        state_done(&s);
        rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(state_records_steps_and_sentinels),
                cmocka_unit_test(state_survives_a_torn_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
