/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of bundle.c: an update manifest parses into what the agent
 * checks, and every departure from format 1 is refused naming the field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "basic/macro.h"
#include "shared/bundle.h"

#define H64A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define VALID "{\"format\":1,\"role\":\"verne\",\"profile\":\"bookworm\",\"image_id\":\"0123456789abcdef\",\"version\":\"v1\"," \
              "\"counter\":200,\"expires\":\"2027-01-04T17:37:27Z\",\"files\":{\"base.sqfs\":{\"size\":3000000,\"sha256\":\"" H64A "\"}}}"

static void a_valid_manifest_parses(void **state) {
        (void) state;
        struct update_manifest m = {};
        char *error = NULL;
        assert_int_equal(update_manifest_parse(VALID, strlen(VALID), &m, &error), 0);
        assert_null(error);
        assert_string_equal(m.role, "verne");
        assert_string_equal(m.image_id, "0123456789abcdef");
        assert_int_equal(m.counter, 200);
        assert_int_equal(m.expires, 1799084247);
        assert_int_equal(m.n_files, 1);
        assert_string_equal(m.files[0].name, "base.sqfs");
        assert_int_equal(m.files[0].size, 3000000);
        assert_string_equal(m.files[0].verity_root, "");
        update_manifest_done(&m);
        /* with a verity root hash */
        static const char with_root[] = "{\"format\":1,\"role\":\"verne\",\"profile\":\"bookworm\",\"image_id\":\"0123456789abcdef\","
                                        "\"version\":\"v1\",\"counter\":1,\"expires\":\"2027-01-04T17:37:27Z\",\"files\":{\"base.sqfs\":"
                                        "{\"size\":1,\"sha256\":\"" H64A "\",\"verity_root\":\"" H64A "\"}}}";
        assert_int_equal(update_manifest_parse(with_root, strlen(with_root), &m, &error), 0);
        assert_string_equal(m.files[0].verity_root, H64A);
        update_manifest_done(&m);
}

/* VALID with FROM replaced by TO must fail naming WANT */
static void refused(const char *from, const char *to, const char *want) {
        char *text = NULL, *error = NULL;
        const char *at = strstr(VALID, from);
        assert_non_null(at);
        assert_true(asprintf(&text, "%.*s%s%s", (int) (at - VALID), VALID, to, at + strlen(from)) > 0);
        struct update_manifest m = {};
        int r = update_manifest_parse(text, strlen(text), &m, &error);
        if (r != -EBADMSG || !error || !strstr(error, want))
                fail_msg("'%s' -> '%s': r=%d error=%s (want '%s')", from, to, r, error ? error : "(none)", want);
        free(error);
        free(text);
}

static void every_departure_is_refused_naming_the_field(void **state) {
        (void) state;
        refused("\"format\":1", "\"format\":2", "format: this agent reads format 1");
        refused("\"role\":\"verne\"", "\"role\":\"\"", "role: want a non-empty string");
        refused("\"role\":\"verne\"", "\"role\":\"verne\",\"roles\":1", "unknown field 'roles'");
        refused("\"image_id\":\"0123456789abcdef\"", "\"image_id\":\"0123456789ABCDEF\"", "image_id: want 16 lowercase hex");
        refused("\"counter\":200", "\"counter\":0", "counter: want a positive integer");
        refused("\"counter\":200", "\"counter\":2.5", "counter: want a positive integer");
        refused("\"counter\":200", "\"counter\":\"200\"", "counter: want a positive integer");
        refused("2027-01-04T17:37:27Z", "2027-01-04 17:37:27", "expires: want UTC");
        refused("\"base.sqfs\"", "\"../base.sqfs\"", "'../base.sqfs' is not a payload file name");
        refused("\"base.sqfs\"", "\"manifest.json\"", "is not a payload file name");
        refused("\"size\":3000000", "\"size\":-1", "files.base.sqfs.size: want a byte count");
        refused("\"sha256\":\"" H64A "\"", "\"sha256\":\"" H64A "\",\"md5\":\"x\"", "files.base.sqfs: unknown field 'md5'");
        refused("\"sha256\":\"" H64A "\"", "\"sha256\":\"abc\"", "files.base.sqfs.sha256: want 64 lowercase hex");
        refused("\"files\":{", "\"files\":{\"vmlinuz\":{\"size\":1,\"sha256\":\"" H64A "\"},\"vmlinuz\":{\"size\":1,\"sha256\":\"" H64A "\"},",
                "files.vmlinuz: listed twice");
        refused("{\"format\"", "[{\"format\"", "not a JSON object");
        refused("\"sha256\":\"" H64A "\"", "\"sha256\":\"" H64A "\",\"verity_root\":\"xyz\"", "files.base.sqfs.verity_root: want 64");
}

static void a_manifest_without_files_is_refused(void **state) {
        (void) state;
        static const char text[] = "{\"format\":1,\"role\":\"verne\",\"profile\":\"bookworm\",\"image_id\":\"0123456789abcdef\","
                                   "\"version\":\"v1\",\"counter\":1,\"expires\":\"2027-01-04T17:37:27Z\",\"files\":{}}";
        struct update_manifest m = {};
        char *error = NULL;
        assert_int_equal(update_manifest_parse(text, strlen(text), &m, &error), -EBADMSG);
        assert_non_null(strstr(error, "files: want an object"));
        free(error);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_valid_manifest_parses),
                cmocka_unit_test(every_departure_is_refused_naming_the_field),
                cmocka_unit_test(a_manifest_without_files_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
