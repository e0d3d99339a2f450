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
              "\"counter\":200,\"expires\":\"2027-01-04T17:37:27Z\",\"boot_options\":\"console=ttyS0,115200 panic=10\",\"files\":{\"base.sqfs\":{\"size\":3000000,\"sha256\":\"" H64A "\"}}}"

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
        assert_string_equal(m.boot_options, "console=ttyS0,115200 panic=10");
        assert_int_equal(m.n_files, 1);
        assert_string_equal(m.files[0].name, "base.sqfs");
        assert_int_equal(m.files[0].size, 3000000);
        assert_string_equal(m.files[0].verity_root, "");
        assert_int_equal(m.files[0].verity_offset, 0);
        update_manifest_done(&m);
        /* with a verity root hash and where its tree starts; empty boot options */
        static const char with_root[] = "{\"format\":1,\"role\":\"verne\",\"profile\":\"bookworm\",\"image_id\":\"0123456789abcdef\","
                                        "\"version\":\"v1\",\"counter\":1,\"expires\":\"2027-01-04T17:37:27Z\",\"boot_options\":\"\","
                                        "\"files\":{\"base.sqfs\":{\"size\":12289,\"sha256\":\"" H64A "\",\"verity_root\":\"" H64A "\","
                                        "\"verity_offset\":12288}}}";
        assert_int_equal(update_manifest_parse(with_root, strlen(with_root), &m, &error), 0);
        assert_string_equal(m.files[0].verity_root, H64A);
        assert_int_equal(m.files[0].verity_offset, 12288);
        assert_string_equal(m.boot_options, "");
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

#define VR "\"sha256\":\"" H64A "\",\"verity_root\":\"" H64A "\""

/* the tree's offset: with the root hash and only with it, 4 KiB aligned, inside the file */
static void a_verity_offset_goes_with_the_root_hash(void **state) {
        (void) state;
        refused("\"sha256\":\"" H64A "\"", VR, "files.base.sqfs.verity_offset: required with verity_root");
        refused("\"sha256\":\"" H64A "\"", "\"sha256\":\"" H64A "\",\"verity_offset\":4096", "files.base.sqfs.verity_offset: only with verity_root");
        refused("\"sha256\":\"" H64A "\"", VR ",\"verity_offset\":4097", "verity_offset: want a multiple of 4096");
        refused("\"sha256\":\"" H64A "\"", VR ",\"verity_offset\":0", "verity_offset: want a multiple of 4096 above 0");
        refused("\"sha256\":\"" H64A "\"", VR ",\"verity_offset\":3002368", "below the size 3000000");
        refused("\"sha256\":\"" H64A "\"", VR ",\"verity_offset\":\"4096\"", "verity_offset: want a multiple");
}

/* one line of a boot entry: required, printable, bounded */
static void boot_options_are_one_printable_line(void **state) {
        (void) state;
        refused("\"boot_options\":\"console=ttyS0,115200 panic=10\",", "", "boot_options: want a string");
        refused("\"boot_options\":\"console=ttyS0,115200 panic=10\"", "\"boot_options\":null", "boot_options: want a string");
        refused("panic=10\"", "panic=10\\ninitrd /evil\"", "boot_options: byte 0x0a at 29 is not printable ASCII");
        refused("panic=10\"", "panic=10\\t\"", "byte 0x09");
        refused("panic=10\"", "panic=10\\u00e9\"", "is not printable ASCII");
        char *many = malloc(BOOT_OPTIONS_MAX + 32);
        assert_non_null(many);
        memset(many, 'x', BOOT_OPTIONS_MAX + 1);
        strcpy(many + BOOT_OPTIONS_MAX + 1, "\"");
        refused("console=ttyS0,115200 panic=10\"", many, "boot_options: 1025 bytes, at most 1024");
        many[BOOT_OPTIONS_MAX] = '"';
        many[BOOT_OPTIONS_MAX + 1] = 0;
        struct update_manifest m = {};
        char *text = NULL, *error = NULL;
        const char *at = strstr(VALID, "console=");
        assert_true(asprintf(&text, "%.*s%s%s", (int) (at - VALID), VALID, many, strstr(at, "\"") + 1) > 0);
        assert_int_equal(update_manifest_parse(text, strlen(text), &m, &error), 0);
        assert_int_equal(strlen(m.boot_options), BOOT_OPTIONS_MAX);
        update_manifest_done(&m);
        free(text);
        free(many);
}

static void a_manifest_without_files_is_refused(void **state) {
        (void) state;
        static const char text[] = "{\"format\":1,\"role\":\"verne\",\"profile\":\"bookworm\",\"image_id\":\"0123456789abcdef\","
                                   "\"version\":\"v1\",\"counter\":1,\"expires\":\"2027-01-04T17:37:27Z\",\"boot_options\":\"\",\"files\":{}}";
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
                cmocka_unit_test(a_verity_offset_goes_with_the_root_hash),
                cmocka_unit_test(boot_options_are_one_printable_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
